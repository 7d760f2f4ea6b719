# make        the library objects, libmmap.a, mmap_tests, mmap_demo,
#             mmap_bench and the lectures' examples in examples/
# make test   build and run the test suite
# make demo   run the demo on a copy of a bundled file
# make bench  build and run the benchmark against stdio and the kernel's mmap
# make asan   the test suite built and run with AddressSanitizer and UBSan
# make fuzz-driver  the seeded fuzzer of the API, fuzz/fuzz_driver, built
#             with gcc under AddressSanitizer and UBSan
# make fuzz   that, and fuzz/api_fuzz under clang's libFuzzer where clang
#             is installed
# make clean  remove every build output

CC ?= cc
CFLAGS ?= -O2 -g
CFLAGS += -std=gnu99 -Wall -Wextra -Werror
ASAN_FLAGS = -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer \
             -fno-sanitize-recover=all

LIB_SRCS = host_memory.c kernel.c page_table.c tlb.c segments.c trace.c mmu.c \
           segment_pager.c \
           io_fault.c file_store.c vma.c rmap.c page_cache.c anon.c fault.c vm.c mmap.c
LIB_OBJS = $(LIB_SRCS:.c=.o)
HEADERS = $(wildcard *.h)
# The test suite: a runner, shared helpers and one file per module.
TEST_SRCS = $(sort $(wildcard tests/*.c))
TEST_OBJS = $(TEST_SRCS:.c=.o)
TEST_HEADERS = $(wildcard tests/*.h) examples/exchange.h examples/machine.h
# The lectures' examples, rewritten for the simulated machine; the suite
# "examples" of mmap_tests runs them.
EXAMPLES = examples/private_read examples/grow_and_msync examples/file_read \
           examples/persistent_variable examples/exchange

.PHONY: all test demo bench asan fuzz fuzz-driver clean

all: libmmap.a mmap_tests mmap_demo mmap_bench $(EXAMPLES)

%.o: %.c $(HEADERS)
	$(CC) $(CFLAGS) -c $< -o $@

tests/%.o: tests/%.c $(TEST_HEADERS) $(HEADERS)
	$(CC) $(CFLAGS) -I. -c $< -o $@

libmmap.a: $(LIB_OBJS)
	rm -f $@
	ar rcs $@ $^

mmap_tests: $(TEST_OBJS) libmmap.a
	$(CC) $(CFLAGS) -o $@ $^

# The demo: its default run, and --sharing in a file of its own.
mmap_demo: mmap_demo.o mmap_demo_sharing.o libmmap.a
	$(CC) $(CFLAGS) -o $@ $^

examples/%.o: examples/%.c examples/exchange.h examples/machine.h $(HEADERS)
	$(CC) $(CFLAGS) -I. -c $< -o $@

# Each example runs on the one simulated machine of examples/machine.c.
$(EXAMPLES): %: %.o examples/machine.o libmmap.a
	$(CC) $(CFLAGS) -o $@ $^

# The suites demo and examples run ./mmap_demo and examples/: built first.
test: mmap_tests mmap_demo $(EXAMPLES)
	./mmap_tests

mmap_bench: mmap_bench.o host_mmap.o libmmap.a
	$(CC) $(CFLAGS) -o $@ $^

demo: mmap_demo
	./mmap_demo

bench: mmap_bench
	./mmap_bench

# A build of its own in asan/, so sanitized and plain objects never mix.
asan/mmap_tests: $(LIB_SRCS) $(TEST_SRCS) $(HEADERS) $(TEST_HEADERS)
	mkdir -p asan
	$(CC) -std=gnu99 -Wall -Wextra -Werror $(ASAN_FLAGS) -I. \
	    -o $@ $(LIB_SRCS) $(TEST_SRCS)

asan: asan/mmap_tests mmap_demo $(EXAMPLES)
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
	    ./asan/mmap_tests

# The fuzzers: one engine, two drivers, each with the library's sources
# built in, sanitized.
FUZZ_ENGINE = fuzz/fuzz_engine.c fuzz/fuzz_engine.h
FUZZ_CC ?= gcc
CLANG ?= clang

fuzz/fuzz_driver: fuzz/fuzz_driver.c $(FUZZ_ENGINE) $(LIB_SRCS) $(HEADERS)
	$(FUZZ_CC) -std=gnu99 -Wall -Wextra -Werror $(ASAN_FLAGS) -I. -o $@ \
	    fuzz/fuzz_driver.c fuzz/fuzz_engine.c $(LIB_SRCS)

fuzz/api_fuzz: fuzz/api_fuzz.c $(FUZZ_ENGINE) $(LIB_SRCS) $(HEADERS)
	$(CLANG) -std=gnu99 -Wall -Wextra -Werror -O1 -g \
	    -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
	    -I. -o $@ fuzz/api_fuzz.c fuzz/fuzz_engine.c $(LIB_SRCS)

fuzz-driver: fuzz/fuzz_driver

# libFuzzer's target only where clang is installed: it stays optional.
fuzz: fuzz/fuzz_driver
	@if command -v $(CLANG) >/dev/null 2>&1; then \
	    $(MAKE) --no-print-directory fuzz/api_fuzz; \
	else echo "make fuzz: no $(CLANG), so no fuzz/api_fuzz"; fi

clean:
	rm -rf *.o tests/*.o libmmap.a mmap_tests mmap_demo mmap_bench asan \
	    examples/*.o $(EXAMPLES) fuzz/fuzz_driver fuzz/api_fuzz
