/* A program built with nothing but `pkg-config --cflags --libs nt5`. */
#include <nt5.h>
#include <stdio.h>

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    nt5_model *m = NULL;
    if (nt5_model_open(argv[1], NULL, &m) != NT5_OK) {
        fprintf(stderr, "%s\n", nt5_last_error());
        return 1;
    }
    int32_t ids[64];
    size_t n = 0;
    nt5_status st = nt5_tokenize(m, "Hello world!", 0, ids, 64, &n);
    for (size_t i = 0; st == NT5_OK && i < n; i++) printf(i ? " %d" : "%d", ids[i]);
    printf("\n");
    nt5_model_free(m);
    return st == NT5_OK ? 0 : 1;
}
