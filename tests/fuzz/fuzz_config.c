/* libFuzzer harness: config.json parsing (cJSON + nt5's validation). */
#include <stddef.h>
#include <stdint.h>

#include "model/config.h"
#include "base/json_file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    cJSON *root = NULL;
    if (json_parse_object((const char *)data, size, "fuzz", &root) == NT5_OK) {
        t5_config c;
        if (config_from_json(root, "fuzz", &c) == NT5_OK) cJSON_Delete(config_to_json(&c));
        cJSON_Delete(root);
    }
    return 0;
}
