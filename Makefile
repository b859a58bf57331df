# ferry — GNU Make build.
#   make            build/ferry (optimised, with debug info)
#   make sanitize   build/san/ferry (ASan + UBSan) and sanitized unit tests
#   make run        set-up, build, start a secure node on https://127.0.0.1:9200 (config ./config, data ./data)
#   make test       set-up, build, every test (unit normal + sanitized, REST, end-to-end)
#   make bench      benchmarks against peers, side by side
#   make fuzz       libFuzzer targets (clang)

CC      ?= gcc
CFLAGS_BASE = -std=gnu11 -g -Wall -Wextra -Werror -Wno-unused-parameter -Wshadow \
              -Wstrict-prototypes -Wmissing-prototypes -Isrc -D_GNU_SOURCE -MMD -MP
CFLAGS  ?= -O2
LDLIBS  = -lmicrohttpd -lgnutls -lcurl -llmdb -lyaml -lzip -lz -lcrypt -lunistring -lstemmer \
          -lpthread -lm
SANFLAGS = -O1 -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined

SRCS     := $(sort $(wildcard src/*/*.c))
LIB_SRCS := $(filter-out src/cli/main.c,$(SRCS))
UNIT_SRCS := $(sort $(wildcard tests/unit/test_*.c))

OBJS     := $(LIB_SRCS:%.c=build/obj/%.o)
SAN_OBJS := $(LIB_SRCS:%.c=build/san/obj/%.o)
UNITS     := $(UNIT_SRCS:tests/unit/%.c=build/tests/%)
SAN_UNITS := $(UNIT_SRCS:tests/unit/%.c=build/san/tests/%)

.PHONY: all sanitize run test unit rest e2e bench fuzz clean deps
all: build/ferry

deps:
	@scripts/install-deps

build/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_BASE) $(CFLAGS) -c $< -o $@

build/san/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_BASE) $(SANFLAGS) -c $< -o $@

build/libferry.a: $(OBJS)
	@rm -f $@
	ar rcs $@ $^

build/san/libferry.a: $(SAN_OBJS)
	@rm -f $@
	ar rcs $@ $^

build/ferry: build/obj/src/cli/main.o build/libferry.a
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

build/san/ferry: build/san/obj/src/cli/main.o build/san/libferry.a
	$(CC) $(SANFLAGS) -o $@ $^ $(LDLIBS)

build/tests/%: tests/unit/%.c tests/unit/unit.h build/libferry.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_BASE) $(CFLAGS) -Itests/unit -o $@ $< build/libferry.a $(LDLIBS)

build/san/tests/%: tests/unit/%.c tests/unit/unit.h build/san/libferry.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_BASE) $(SANFLAGS) -Itests/unit -o $@ $< build/san/libferry.a $(LDLIBS)

sanitize: build/san/ferry $(SAN_UNITS)

run: deps build/ferry
	@mkdir -p data config
	@echo "make run: a node with Elasticsearch 8's defaults: security on, HTTPS with a CA made on the first"
	@echo "          start (config/certs/http_ca.crt), the elastic user's password printed once. Reach it with:"
	@echo "          curl --cacert config/certs/http_ca.crt -u elastic:PASSWORD https://127.0.0.1:9200/"
	@echo "          (ELASTIC_PASSWORD=... make run sets the password on a first start)"
	FERRY_PATH_CONF=$(CURDIR)/config build/ferry serve -E path.data=$(CURDIR)/data

unit: $(UNITS) $(SAN_UNITS)
	@tests/run-units $(UNITS) $(SAN_UNITS)

test: deps
	@$(MAKE) --no-print-directory all sanitize $(UNITS)
	@tests/run-all

bench: build/ferry
	@scripts/install-deps bench
	@$(MAKE) --no-print-directory -C bench

fuzz:
	@$(MAKE) --no-print-directory -C fuzz

clean:
	rm -rf build
	@$(MAKE) --no-print-directory -C bench clean 2>/dev/null || true
	@$(MAKE) --no-print-directory -C fuzz clean 2>/dev/null || true

-include $(OBJS:.o=.d) $(SAN_OBJS:.o=.d) build/obj/src/cli/main.d build/san/obj/src/cli/main.d

# The commit the binary was built from, reported as version.build_hash.
BUILD_HASH := $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
build/obj/src/rest/rest_node.o build/san/obj/src/rest/rest_node.o: CFLAGS_BASE += -DFERRY_BUILD_HASH=\"$(BUILD_HASH)\"
