/*
 * http_codec.c — body codecs: inflating gzip/deflate request bodies under a
 * size limit (so a compressed bomb is a 413, not an OOM) and gzipping answers.
 */
#include "http/http_int.h"

#include <zlib.h>

static int inflate_with(const char *in, size_t n, int window_bits, int64_t limit, buf *out)
{
    z_stream zs = { 0 };
    if (inflateInit2(&zs, window_bits) != Z_OK) return -1;
    zs.next_in = (Bytef *)in;
    zs.avail_in = (uInt)n;
    int rc;
    do {
        buf_reserve(out, 64 * 1024);
        zs.next_out = (Bytef *)out->p + out->len;
        zs.avail_out = (uInt)(out->cap - out->len - 1);
        size_t before = zs.avail_out;
        rc = inflate(&zs, Z_NO_FLUSH);
        out->len += before - zs.avail_out;
        out->p[out->len] = 0;
        if (limit > 0 && (int64_t)out->len > limit) {
            inflateEnd(&zs);
            return -2;
        }
        if (rc == Z_BUF_ERROR && zs.avail_in == 0) break; /* truncated input */
    } while (rc == Z_OK || (rc == Z_BUF_ERROR && zs.avail_out == 0));
    inflateEnd(&zs);
    return rc == Z_STREAM_END ? 0 : -1;
}

int http_inflate(const char *in, size_t n, bool gzip, int64_t limit, buf *out)
{
    if (gzip) return inflate_with(in, n, 16 + MAX_WBITS, limit, out);
    /* "deflate" is zlib-wrapped by the RFC, but some clients send raw deflate. */
    int rc = inflate_with(in, n, MAX_WBITS, limit, out);
    if (rc == -1) {
        buf_reset(out);
        rc = inflate_with(in, n, -MAX_WBITS, limit, out);
    }
    return rc;
}

bool http_gzip(const char *in, size_t n, buf *out)
{
    z_stream zs = { 0 };
    if (deflateInit2(&zs, 3, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK) return false;
    buf_reserve(out, deflateBound(&zs, (uLong)n) + 16);
    zs.next_in = (Bytef *)in;
    zs.avail_in = (uInt)n;
    zs.next_out = (Bytef *)out->p + out->len;
    zs.avail_out = (uInt)(out->cap - out->len - 1);
    int rc = deflate(&zs, Z_FINISH);
    out->len += (size_t)((char *)zs.next_out - (out->p + out->len));
    out->p[out->len] = 0;
    deflateEnd(&zs);
    return rc == Z_STREAM_END;
}

static int hex_digit(int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    c |= 32;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

bool http_percent_decode(const char *s, size_t n, bool plus_is_space, buf *out)
{
    buf_reserve(out, n);
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '%') {
            if (i + 2 >= n) return false; /* ES: unterminated escape sequence */
            int hi = s[i + 1], lo = s[i + 2];
            int h = hex_digit(hi), l = hex_digit(lo);
            if (h < 0 || l < 0) return false;
            buf_putc(out, (char)(h * 16 + l));
            i += 2;
        } else if (c == '+' && plus_is_space) {
            buf_putc(out, ' ');
        } else {
            buf_putc(out, c);
        }
    }
    return true;
}
