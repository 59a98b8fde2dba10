/* The CUDA module handshake through the public API: with NT5_CUDA_MODULE
 * naming a module (tests/fake_cuda_module.c), opening a model on "cuda"
 * gives the expected status and a message with the expected phrase.
 * usage: test_cuda_module STATUS_NAME PHRASE */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s STATUS_NAME PHRASE\n", argv[0]);
        return 2;
    }
    nt5_model_options o;
    nt5_model_options_init(&o, sizeof o);
    o.device = "cuda";
    nt5_model *m = NULL;
    nt5_status st = nt5_model_open(data_path("t5-v1_1-tiny"), &o, &m);
    printf("device \"cuda\" with %s: %s (%s)\n", getenv("NT5_CUDA_MODULE"), nt5_status_name(st), nt5_last_error());
    CHECK(strcmp(nt5_status_name(st), argv[1]) == 0, "status %s, wanted %s", nt5_status_name(st), argv[1]);
    CHECK(strstr(nt5_last_error(), argv[2]) != NULL, "message \"%s\" lacks \"%s\"", nt5_last_error(), argv[2]);
    CHECK(m == NULL, "a model was opened");
    nt5_model_free(m);
    return harness_finish("cuda-module");
}
