// simd_driver.cpp — the benchmark's simdjson side (bench driver only, never
// product code): parse every line into simdjson's DOM, and serialize parsed
// DOMs back to compact text, timed the same way as the C peers.
#include <simdjson.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

extern "C" {
double simd_parse_all(const char *text, const size_t *offs, size_t ndocs);
double simd_serialize_all(const char *text, const size_t *offs, size_t ndocs, size_t batch, size_t *out_bytes);
const char *simd_implementation(void);
}

static double now_s()
{
    using namespace std::chrono;
    return duration<double>(steady_clock::now().time_since_epoch()).count();
}

const char *simd_implementation(void)
{
    return simdjson::get_active_implementation()->name().c_str();
}

// Seconds to parse every document (the parser, and so its DOM, is reused:
// simdjson's idiom). The corpus is padded, so no copy is needed.
double simd_parse_all(const char *text, const size_t *offs, size_t ndocs)
{
    simdjson::dom::parser parser;
    size_t sink = 0;
    double t0 = now_s();
    for (size_t i = 0; i < ndocs; i++) {
        size_t len = offs[i + 1] - offs[i] - 1; // without the newline
        simdjson::dom::element root;
        auto err = parser.parse(reinterpret_cast<const uint8_t *>(text + offs[i]), len, false).get(root);
        if (err) {
            std::fprintf(stderr, "simdjson: document %zu: %s\n", i, simdjson::error_message(err));
            return -1;
        }
        sink += root.is_object();
    }
    double t = now_s() - t0;
    if (sink != ndocs) return -1;
    return t;
}

// Seconds to serialize every document compactly, parsed beforehand in
// batches (parsing untimed).
double simd_serialize_all(const char *text, const size_t *offs, size_t ndocs, size_t batch, size_t *out_bytes)
{
    simdjson::dom::parser parser;
    std::vector<simdjson::dom::document> docs(batch);
    std::vector<simdjson::dom::element> roots(batch);
    double total = 0;
    size_t bytes = 0;
    for (size_t b0 = 0; b0 < ndocs; b0 += batch) {
        size_t n = ndocs - b0 < batch ? ndocs - b0 : batch;
        for (size_t j = 0; j < n; j++) {
            size_t i = b0 + j;
            size_t len = offs[i + 1] - offs[i] - 1;
            auto err = parser.parse_into_document(docs[j], reinterpret_cast<const uint8_t *>(text + offs[i]), len,
                                                  false)
                           .get(roots[j]);
            if (err) return -1;
        }
        double t0 = now_s();
        for (size_t j = 0; j < n; j++) {
            std::string s = simdjson::to_string(roots[j]);
            bytes += s.size();
        }
        total += now_s() - t0;
    }
    *out_bytes = bytes;
    return total;
}
