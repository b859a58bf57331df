/*
 * peers.c — the benchmark's cJSON and jansson sides, kept apart from ferry's
 * header (jansson's names clash with ferry's). Same protocol as the simdjson
 * driver: seconds for parsing every document into a DOM and freeing it, and
 * for serializing parsed DOMs compactly (parsing untimed, in batches).
 */
#include <cjson/cJSON.h>
#include <jansson.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

double cjson_parse_all(const char *text, const size_t *offs, size_t ndocs);
double cjson_serialize_all(const char *text, const size_t *offs, size_t ndocs, size_t batch, size_t *out_bytes);
double jansson_parse_all(const char *text, const size_t *offs, size_t ndocs);
double jansson_serialize_all(const char *text, const size_t *offs, size_t ndocs, size_t batch, size_t *out_bytes);

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

#define LEN(i) (offs[(i) + 1] - offs[(i)] - 1)

double cjson_parse_all(const char *text, const size_t *offs, size_t ndocs)
{
    double t0 = now_s();
    for (size_t i = 0; i < ndocs; i++) {
        cJSON *d = cJSON_ParseWithLength(text + offs[i], LEN(i));
        if (!d) {
            fprintf(stderr, "cJSON: document %zu failed\n", i);
            return -1;
        }
        cJSON_Delete(d);
    }
    return now_s() - t0;
}

double cjson_serialize_all(const char *text, const size_t *offs, size_t ndocs, size_t batch, size_t *out_bytes)
{
    cJSON **docs = malloc(batch * sizeof *docs);
    double total = 0;
    size_t bytes = 0;
    for (size_t b0 = 0; b0 < ndocs; b0 += batch) {
        size_t n = ndocs - b0 < batch ? ndocs - b0 : batch;
        for (size_t j = 0; j < n; j++) {
            docs[j] = cJSON_ParseWithLength(text + offs[b0 + j], LEN(b0 + j));
            if (!docs[j]) return -1;
        }
        double t0 = now_s();
        for (size_t j = 0; j < n; j++) {
            char *s = cJSON_PrintUnformatted(docs[j]);
            bytes += strlen(s);
            cJSON_free(s);
        }
        total += now_s() - t0;
        for (size_t j = 0; j < n; j++) cJSON_Delete(docs[j]);
    }
    free(docs);
    *out_bytes = bytes;
    return total;
}

double jansson_parse_all(const char *text, const size_t *offs, size_t ndocs)
{
    double t0 = now_s();
    for (size_t i = 0; i < ndocs; i++) {
        json_error_t e;
        json_t *d = json_loadb(text + offs[i], LEN(i), 0, &e);
        if (!d) {
            fprintf(stderr, "jansson: document %zu: %s\n", i, e.text);
            return -1;
        }
        json_decref(d);
    }
    return now_s() - t0;
}

double jansson_serialize_all(const char *text, const size_t *offs, size_t ndocs, size_t batch, size_t *out_bytes)
{
    json_t **docs = malloc(batch * sizeof *docs);
    double total = 0;
    size_t bytes = 0;
    for (size_t b0 = 0; b0 < ndocs; b0 += batch) {
        size_t n = ndocs - b0 < batch ? ndocs - b0 : batch;
        for (size_t j = 0; j < n; j++) {
            docs[j] = json_loadb(text + offs[b0 + j], LEN(b0 + j), 0, NULL);
            if (!docs[j]) return -1;
        }
        double t0 = now_s();
        for (size_t j = 0; j < n; j++) {
            char *s = json_dumps(docs[j], JSON_COMPACT);
            bytes += strlen(s);
            free(s);
        }
        total += now_s() - t0;
        for (size_t j = 0; j < n; j++) json_decref(docs[j]);
    }
    free(docs);
    *out_bytes = bytes;
    return total;
}
