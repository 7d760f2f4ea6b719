# make        the library objects, libmmap.a, mmap_tests, the programs
#             built on the library in programs/ (mmap_demo, mmap_bench,
#             mmap_replay, mmap_play)
#             and the lectures' examples in examples/
# make test   build and run the test suite
# make demo   run the demo on a copy of a bundled file
# make bench  build and run the benchmark against stdio and the kernel's mmap
# make asan   the test suite built and run with AddressSanitizer and UBSan
#             (make CC=clang asan: the same with clang's, in its own build)
# make cxx-check   build tests/cxx_driver.cpp with $(CXX) against libmmap.a
#                  and run it: the headers as a C++ program uses them
# make c99-check   compile each library source with -std=c99: each one
#                  asks for the POSIX or GNU declarations it uses itself
# make fuzz-driver  the seeded fuzzer of the API, fuzz/fuzz_driver, built
#             with gcc under AddressSanitizer and UBSan
# make fuzz   that, and fuzz/api_fuzz under clang's libFuzzer where clang
#             is installed
# make web    the playground's page over the library built to WebAssembly
#             by Debian's emscripten, in web/build/ (open
#             web/build/index.html from disk); not part of make all
# make web-test  that, then its tests under node and headless chromium
#             (web/package.json's playwright-core, after npm ci in web/)
# make clean  remove every build output

CC ?= cc
CFLAGS ?= -O2 -g
CFLAGS += -std=gnu99 -Wall -Wextra -Werror
CXXFLAGS ?= -O2 -g
CXXFLAGS += -std=c++11 -Wall -Wextra -Werror
ASAN_FLAGS = -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer \
             -fno-sanitize-recover=all
# One sanitized build per compiler, so that a build by one is never taken
# for the other's: asan/ for cc and gcc, asan-clang/ for clang, ...
ASAN_COMPILER = $(notdir $(firstword $(CC)))
ASAN_DIR = asan$(addprefix -,$(filter-out cc gcc,$(ASAN_COMPILER)))

LIB_SRCS = host_memory.c settings.c kernel.c page_table.c tlb.c segments.c \
           trace.c mmu.c segment_pager.c \
           io_fault.c file_store.c vma.c rmap.c page_cache.c anon.c fault.c \
           swap.c vm.c heap.c fork.c mmap.c munmap.c \
           policy_clock.c policy_queue.c policy_random.c policy_opt.c \
           replay.c scenario.c play_text.c play_snapshot.c play_event.c play.c
LIB_OBJS = $(LIB_SRCS:.c=.o)
HEADERS = $(wildcard *.h)
# The test suite: a runner, shared helpers and one file per module.
TEST_SRCS = $(filter-out $(TEST_LIB_SRCS),$(sort $(wildcard tests/*.c)))
TEST_OBJS = $(TEST_SRCS:.c=.o)
# A shared library the suite links, whose calls to munmap must reach the
# program's (munmap.c) through the dynamic linker; the suite finds it
# through its rpath, so it runs from anywhere.
TEST_LIB_SRCS = tests/host_user_lib.c
TEST_LIB = tests/libhostuser.so
TEST_HEADERS = $(wildcard tests/*.h) examples/exchange.h examples/machine.h \
               examples/workspace.h
# The lectures' examples, rewritten for the simulated machine; the suite
# "examples" of mmap_tests runs them.
EXAMPLES = examples/private_read examples/grow_and_msync examples/file_read \
           examples/persistent_variable examples/exchange \
           examples/fork_shared_file examples/fork_anonymous

.PHONY: all test demo bench asan cxx-check c99-check fuzz fuzz-driver clean \
        web web-test

# The programs built on the library, each in programs/.
PROGRAMS = programs/mmap_demo programs/mmap_bench programs/mmap_replay \
           programs/mmap_play
PROGRAM_HEADERS = $(wildcard programs/*.h)

all: libmmap.a mmap_tests $(PROGRAMS) $(EXAMPLES)

%.o: %.c $(HEADERS)
	$(CC) $(CFLAGS) -c $< -o $@

programs/%.o: programs/%.c $(PROGRAM_HEADERS) $(HEADERS)
	$(CC) $(CFLAGS) -I. -c $< -o $@

tests/%.o: tests/%.c $(TEST_HEADERS) $(HEADERS)
	$(CC) $(CFLAGS) -I. -c $< -o $@

libmmap.a: $(LIB_OBJS)
	rm -f $@
	ar rcs $@ $^

$(TEST_LIB): $(TEST_LIB_SRCS) tests/host_calls.h
	$(CC) $(CFLAGS) -fPIC -shared -Wl,-soname,$(notdir $(TEST_LIB)) \
	    -o $@ $(TEST_LIB_SRCS)

mmap_tests: $(TEST_OBJS) libmmap.a $(TEST_LIB)
	$(CC) $(CFLAGS) -o $@ $(TEST_OBJS) libmmap.a $(TEST_LIB) \
	    -Wl,-rpath,'$$ORIGIN/tests'

# The demo: its default run, and --sharing and --fork in files of their own.
programs/mmap_demo: programs/mmap_demo.o programs/mmap_demo_story.o \
                    programs/play_print.o libmmap.a
	$(CC) $(CFLAGS) -o $@ $^

examples/%.o: examples/%.c examples/exchange.h examples/machine.h \
              examples/workspace.h $(HEADERS)
	$(CC) $(CFLAGS) -I. -c $< -o $@

# Each example runs on the one simulated machine of examples/machine.c, in
# a folder of its own (examples/workspace.c).
$(EXAMPLES): %: %.o examples/machine.o examples/workspace.o libmmap.a
	$(CC) $(CFLAGS) -o $@ $^

# The suites demo, play and examples run programs/mmap_demo,
# programs/mmap_play and examples/: built first.
test: mmap_tests programs/mmap_demo programs/mmap_play $(EXAMPLES)
	./mmap_tests

# The policy lab: a trace replayed per policy and pool size (replay.h).
programs/mmap_replay: programs/mmap_replay.o libmmap.a
	$(CC) $(CFLAGS) -o $@ $^

# The playground in a terminal: a scenario's steps, or its JSON.
programs/mmap_play: programs/mmap_play.o programs/play_print.o libmmap.a
	$(CC) $(CFLAGS) -o $@ $^

programs/mmap_bench: programs/mmap_bench.o programs/mmap_bench_replay.o \
                    programs/host_mmap.o libmmap.a
	$(CC) $(CFLAGS) -o $@ $^

demo: programs/mmap_demo
	./programs/mmap_demo

# Nine runs, as README's speed table is measured.
bench: programs/mmap_bench
	./programs/mmap_bench --runs 9

# A build of its own in $(ASAN_DIR), so sanitized and plain objects never
# mix.
$(ASAN_DIR)/mmap_tests: $(LIB_SRCS) $(TEST_SRCS) $(HEADERS) $(TEST_HEADERS) \
                        $(TEST_LIB)
	mkdir -p $(ASAN_DIR)
	$(CC) -std=gnu99 -Wall -Wextra -Werror $(ASAN_FLAGS) -I. \
	    -o $@ $(LIB_SRCS) $(TEST_SRCS) $(TEST_LIB) \
	    -Wl,-rpath,'$$ORIGIN/../tests'

asan: $(ASAN_DIR)/mmap_tests programs/mmap_demo programs/mmap_play $(EXAMPLES)
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
	    ./$(ASAN_DIR)/mmap_tests

tests/cxx_driver: tests/cxx_driver.cpp libmmap.a $(HEADERS)
	$(CXX) $(CXXFLAGS) -I. -o $@ $< libmmap.a

# Run from the root, where test_files/ is.
cxx-check: tests/cxx_driver
	./tests/cxx_driver

# Objects go to a scratch directory, removed however the check ends.
c99-check:
	@scratch=$$(mktemp -d) && trap 'rm -rf "$$scratch"' EXIT && \
	for src in $(LIB_SRCS); do \
	    echo "$(CC) -std=c99 -Wall -Wextra -Werror -c $$src"; \
	    $(CC) -std=c99 -Wall -Wextra -Werror -c $$src \
	        -o "$$scratch/$${src%.c}.o" || exit 1; \
	done

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

# The web page: the library and the playground's engine built by emcc into
# one module with its WebAssembly inside (SINGLE_FILE, so a page opened
# from disk loads it without a fetch), the shipped scenarios as a script,
# and the page's own files beside them.
EMCC ?= emcc
WEB_BUILD = web/build
# The lab's mmap.h needs one munmap for two signatures (munmap.c), which
# WebAssembly, whose calls are checked against the callee's type, cannot
# give: the web build leaves the two out; the engine uses vm.h.
WEB_SRCS = $(filter-out mmap.c munmap.c,$(LIB_SRCS))
WEB_PAGE = web/index.html web/app.js web/style.css
# Debian's emcc runs its optimizer under node, with Debian's acorn.
WEB_ENV = NODE_PATH=/usr/share/nodejs$${NODE_PATH:+:$$NODE_PATH}
WEB_EMFLAGS = -O2 -std=gnu99 -Wall -Wextra -Werror -I. -sSINGLE_FILE=1 \
              -sMODULARIZE=1 -sALLOW_MEMORY_GROWTH=1 -sENVIRONMENT=web,node
WEB_EXPORTS = _play_wasm_run,_play_wasm_replay,_play_wasm_free,_malloc,_free
WEB_RUNTIME = UTF8ToString,stringToUTF8,lengthBytesUTF8
SCENARIOS = $(sort $(wildcard scenarios/*.scn))
TEST_FILES = $(wildcard test_files/*)

$(WEB_BUILD)/mmap_play.js: web/play_wasm.c $(WEB_SRCS) $(HEADERS) $(TEST_FILES)
	mkdir -p $(WEB_BUILD)
	$(WEB_ENV) $(EMCC) $(WEB_EMFLAGS) -sEXPORT_NAME=createMmapPlay \
	    -sEXPORTED_FUNCTIONS=$(WEB_EXPORTS) \
	    -sEXPORTED_RUNTIME_METHODS=$(WEB_RUNTIME) \
	    --embed-file test_files@/test_files \
	    -o $@ web/play_wasm.c $(WEB_SRCS)

# The library's own calls in WebAssembly, with no engine: a node test.
$(WEB_BUILD)/wasm_selftest.js: web/test/wasm_selftest.c $(WEB_SRCS) $(HEADERS)
	mkdir -p $(WEB_BUILD)
	$(WEB_ENV) $(EMCC) $(WEB_EMFLAGS) -sEXPORT_NAME=createWasmSelftest \
	    -sEXPORTED_FUNCTIONS=_wasm_selftest_run \
	    -o $@ web/test/wasm_selftest.c $(WEB_SRCS)

$(WEB_BUILD)/scenarios.js: web/tools/embed_scenarios.mjs $(SCENARIOS)
	mkdir -p $(WEB_BUILD)
	node web/tools/embed_scenarios.mjs $@ $(SCENARIOS)

$(WEB_BUILD)/%: web/%
	mkdir -p $(WEB_BUILD)
	cp $< $@

web: $(WEB_BUILD)/mmap_play.js $(WEB_BUILD)/wasm_selftest.js \
     $(WEB_BUILD)/scenarios.js $(WEB_PAGE:web/%=$(WEB_BUILD)/%)

# Needs programs/mmap_play (make) for the native-against-WebAssembly check.
web-test: web all
	node web/test/wasm_selftest.mjs
	node web/test/same_json.mjs
	node web/test/browser.test.mjs

clean:
	rm -rf $(WEB_BUILD) *.o tests/*.o tests/*.so programs/*.o libmmap.a mmap_tests \
	    $(PROGRAMS) asan asan-* tests/cxx_driver examples/*.o $(EXAMPLES) \
	    fuzz/fuzz_driver fuzz/api_fuzz
