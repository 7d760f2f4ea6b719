/*
 * tests/mmap_tests.c: mmap.h, a file mapped into a simulated address space:
 * creating a mapping, reading and writing it, and memory pressure.
 */
#define _GNU_SOURCE /* setgroups, prctl */

#include "helpers.h"
#include "host_calls.h"

#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

/* The unprivileged ids a test running as root drops to (nobody/nogroup). */
#define UNPRIVILEGED_ID 65534

/* ------------------------------------------------------------------ */
/* Files in the test's temporary directory                             */
/* ------------------------------------------------------------------ */

/*
 * As root, file permissions stop nothing; the read-only and unreadable
 * cases need an unprivileged user. The child is its own process, so it
 * drops to nobody for the rest of the test. Its files stay readable to
 * nobody (the directory is made 0755); the parent, still root, removes them.
 */
static void drop_root_privileges(void) {
    if (geteuid() != 0)
        return;
    if (chmod(work_dir, 0755) != 0)
        setup_failed("chmod the work directory 0755");
    if (setgroups(0, NULL) != 0 || setgid(UNPRIVILEGED_ID) != 0 ||
        setuid(UNPRIVILEGED_ID) != 0)
        setup_failed("dropping root privileges to uid 65534");
#ifdef __linux__
    /* A change of uid makes us undumpable; LeakSanitizer must attach. */
    prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
#endif
    if (geteuid() == 0)
        fail(__FILE__, __LINE__, "setup: still root after setuid(65534)");
}

/* ------------------------------------------------------------------ */
/* mmap helpers                                                        */
/* ------------------------------------------------------------------ */

static mmap *map_file(const char *path) {
    mmap *map;

    errno = 0;
    map = mmap_create(path);
    expect_not_null(map, describe("mmap_create(\"%s\")", path));
    return map;
}

static vm_segmentation *mmap_segment_of(mmap *map) {
    return &map->mmu->segmentations[DEFAULT_PID]->segments[MMAP];
}

static addr32 map_address(mmap *map, size_t offset) {
    return (addr32)(map->start_address + offset);
}

static bool map_page_present(mmap *map, size_t page) {
    return page_present(map->mmu, DEFAULT_PID,
                        map_address(map, page * PAGE_SIZE));
}

/* ================================================================== */
/* mmap.h: creating a mapping                                          */
/* ================================================================== */

static void test_mmap_create_is_lazy_no_fault_before_access(void) {
    char path[PATH_MAX];
    size_t total, page;
    unsigned char byte;
    mmap *map;

    copy_fixture("lorem.txt", path);
    total = kernel_frames_total();
    map = map_file(path);
    expect_size(map->mmu->num_page_faults, 0, "page faults after create");
    expect_size(map->mmu->num_tlb_misses, 0, "TLB misses after create");
    for (page = 0; page < 3; page++)
        expect_true(!map_page_present(map, page),
                    describe("page %zu not present after create", page));
    expect_at_most(total - kernel_frames_free(), 2,
                   "frames in use after create (a directory and at most one "
                   "page table, no data frame)");

    expect_size(mmap_read(map, &byte, 5000, 1), 1, "read of byte 5000");
    expect_size(map->mmu->num_page_faults, 1, "page faults after one read");
    expect_true(map_page_present(map, 1), "page 1 present after the read");
    expect_true(!map_page_present(map, 0), "page 0 still not present");
    expect_true(!map_page_present(map, 2), "page 2 still not present");
    munmap(map);
}

static void expect_segment_pages(const char *fixture, size_t size,
                                 size_t pages) {
    char path[PATH_MAX];
    vm_segmentation *segment;
    mmap *map;

    if (fixture) {
        copy_fixture(fixture, path);
    } else {
        unsigned char *zeros = calloc(1, size + 1);
        if (!zeros)
            setup_failed("calloc");
        write_new_file("sized.bin", zeros, size, path);
        free(zeros);
    }
    map = map_file(path);
    segment = mmap_segment_of(map);
    expect_hex(segment->start, MMAP_REGION_START,
               describe("MMAP start, file of %zu bytes", size));
    expect_hex(map->start_address, segment->start,
               describe("start_address, file of %zu bytes", size));
    expect_hex(map->start_address % PAGE_SIZE, 0,
               describe("start_address page offset, file of %zu bytes", size));
    expect_size(segment->end - segment->start, pages * PAGE_SIZE,
                describe("MMAP segment bytes for a file of %zu bytes", size));
    expect_true(segment->permissions & READ,
                describe("MMAP is readable, file of %zu bytes", size));
    expect_true(segment->permissions & WRITE,
                describe("MMAP is writable, file of %zu bytes", size));
    munmap(map);
}

static void test_mmap_segment_spans_whole_pages_from_the_mmap_start(void) {
    expect_segment_pages("hello.txt", 21, 1);
    expect_segment_pages("lorem.txt", 10000, 3);
    expect_segment_pages("one_page.txt", 4096, 1);
    expect_segment_pages("empty.txt", 0, 0);
    expect_segment_pages(NULL, 4097, 2);
    expect_segment_pages(NULL, 3 * 4096, 3);
}

static void test_mmap_fields_hold_mmu_stream_and_file_length(void) {
    static const struct {
        const char *name;
        size_t length;
    } files[] = {{"hello.txt", 21},
                 {"lorem.txt", 10000},
                 {"one_page.txt", 4096},
                 {"empty.txt", 0}};
    char path[PATH_MAX];
    size_t i;

    expect_size(offsetof(mmap, mmu), 0, "offset of mmu (the first field)");
    expect_true(offsetof(mmap, mmu) < offsetof(mmap, stream) &&
                    offsetof(mmap, stream) < offsetof(mmap, length) &&
                    offsetof(mmap, length) < offsetof(mmap, start_address),
                "mmu, stream, length, start_address come in that order");
    for (i = 0; i < sizeof files / sizeof files[0]; i++) {
        mmap *map;
        copy_fixture(files[i].name, path);
        map = map_file(path);
        expect_size(map->length, files[i].length,
                    describe("length of %s", files[i].name));
        expect_not_null(map->mmu, describe("mmu of %s", files[i].name));
        expect_not_null(map->stream, describe("stream of %s", files[i].name));
        expect_true(map->writable, describe("%s (mode 0644) is mapped writable",
                                            files[i].name));
        expect_not_null(
            map->mmu->page_directories[DEFAULT_PID],
            describe("directory of pid DEFAULT_PID for %s", files[i].name));
        munmap(map);
    }
}

static void test_mmap_create_with_null_path_fails_with_einval(void) {
    errno = 0;
    expect_null(mmap_create(NULL), "mmap_create(NULL)");
    expect_errno(errno, EINVAL, "mmap_create(NULL)");
}

static void test_mmap_create_of_a_missing_file_fails_with_enoent(void) {
    char path[PATH_MAX];

    path_in_work_dir("no_such_file.txt", path);
    errno = 0;
    expect_null(mmap_create(path), "mmap_create of a missing file");
    expect_errno(errno, ENOENT, "mmap_create of a missing file");
}

static void test_mmap_create_of_a_directory_fails_with_eisdir(void) {
    char path[PATH_MAX];

    path_in_work_dir("a_directory", path);
    if (mkdir(path, 0755) != 0)
        setup_failed("mkdir");
    errno = 0;
    expect_null(mmap_create(path), "mmap_create of a directory");
    expect_errno(errno, EISDIR, "mmap_create of a directory");
}

static void
test_mmap_create_of_a_fifo_fails_with_enodev_without_blocking(void) {
    char path[PATH_MAX];

    path_in_work_dir("a_fifo", path);
    if (mkfifo(path, 0644) != 0)
        setup_failed("mkfifo");
    alarm(10); /* opening a FIFO for reading alone would block here */
    errno = 0;
    expect_null(mmap_create(path), "mmap_create of a FIFO");
    expect_errno(errno, ENODEV, "mmap_create of a FIFO");
}

/* The first line of /proc/PID/NAME without its newline; "" if unreadable. */
static void read_proc_line(pid_t pid, const char *name, char *text,
                           size_t size) {
    char path[64];
    FILE *file;

    snprintf(path, sizeof path, "/proc/%d/%s", (int)pid, name);
    text[0] = '\0';
    file = fopen(path, "r");
    if (!file)
        return;
    if (!fgets(text, (int)size, file))
        text[0] = '\0';
    fclose(file);
    text[strcspn(text, "\n")] = '\0';
}

/*
 * Whether process `pid` is blocked in open(2) of a FIFO until the other
 * end is opened: the kernel calls that wait wait_for_partner, and `wchan`
 * gets what /proc says it waits in. A kernel that hides wait channels
 * reads "0" there; then the process must be asleep (state S) in openat.
 */
static bool waits_for_fifo_partner(pid_t pid, char *wchan, size_t size) {
    char text[512];
    const char *state;
    long call;

    read_proc_line(pid, "wchan", wchan, size);
    if (strcmp(wchan, "wait_for_partner") == 0)
        return true;
    if (strcmp(wchan, "0") != 0)
        return false;
    read_proc_line(pid, "stat", text, sizeof text);
    state = strrchr(text, ')');
    if (!state || strncmp(state, ") S", 3) != 0)
        return false;
    read_proc_line(pid, "syscall", text, sizeof text);
    if (text[0] < '0' || text[0] > '9')
        return false;
    call = strtol(text, NULL, 10);
#ifdef SYS_open
    if (call == SYS_open)
        return true;
#endif
    return call == SYS_openat;
}

/*
 * Forks a writer of the FIFO at `path`: its open for writing waits for a
 * reader, then it writes 'x' and exits 0. Nobody reading by then, it dies
 * of SIGPIPE. Nobody releasing it at all, its alarm ends it.
 */
static pid_t start_fifo_writer(const char *path) {
    pid_t pid;
    int fd;

    fflush(stdout);
    fflush(stderr);
    pid = fork();
    if (pid < 0)
        setup_failed("fork the FIFO's writer");
    if (pid > 0)
        return pid;
    close(message_fd); /* the runner's pipe: it must not wait for us */
    signal(SIGPIPE, SIG_DFL);
    alarm(10);
    fd = open(path, O_WRONLY);
    if (fd < 0)
        _exit(2);
    if (write(fd, "x", 1) != 1)
        _exit(3);
    _exit(0);
}

/* Ends the writer when a check fails with it still waiting. */
static void stop_fifo_writer(pid_t writer) {
    kill(writer, SIGKILL);
    waitpid(writer, NULL, 0);
}

/*
 * Opening a FIFO is itself an act: it releases a writer waiting for a
 * reader, which then finds the FIFO closed again. mmap_create must refuse
 * it by what the path names, before any open.
 */
static void
test_mmap_create_of_a_fifo_leaves_a_writer_waiting_on_it_waiting(void) {
    char path[PATH_MAX], wchan[256];
    unsigned char byte = 0;
    int reader, status, waited_ms;
    ssize_t got;
    pid_t writer, ended;

    path_in_work_dir("a_fifo", path);
    if (mkfifo(path, 0644) != 0)
        setup_failed("mkfifo");
    writer = start_fifo_writer(path);
    for (waited_ms = 0; !waits_for_fifo_partner(writer, wchan, sizeof wchan);
         waited_ms += 5) {
        if (waited_ms >= 5000) {
            stop_fifo_writer(writer);
            fail(__FILE__, __LINE__,
                 "setup: the writer was not waiting in its open of the FIFO "
                 "within 5 s (wchan \"%s\")",
                 wchan);
        }
        usleep(5000);
    }

    errno = 0;
    expect_null(mmap_create(path), "mmap_create of a FIFO a writer waits on");
    expect_errno(errno, ENODEV, "mmap_create of a FIFO a writer waits on");
    ended = waitpid(writer, &status, WNOHANG);
    if (ended == writer)
        fail(__FILE__, __LINE__,
             "the writer waiting in its open of the FIFO: expected it still "
             "waiting after mmap_create, but it %s",
             describe_wait_status(status));
    if (!waits_for_fifo_partner(writer, wchan, sizeof wchan)) {
        stop_fifo_writer(writer);
        fail(__FILE__, __LINE__,
             "the writer waiting in its open of the FIFO: expected it still "
             "waiting after mmap_create, but it was released (wchan \"%s\")",
             wchan);
    }

    /*
     * Our reader releases it. O_NONBLOCK only so that a writer gone already
     * fails the read below (end of file) instead of hanging the open.
     */
    reader = open(path, O_RDONLY | O_NONBLOCK);
    if (reader < 0 || fcntl(reader, F_SETFL, 0) != 0)
        setup_failed("open the FIFO for reading");
    got = read(reader, &byte, 1);
    close(reader);
    expect_int(got, 1, "bytes read from the FIFO once the writer is released");
    expect_int(byte, 'x', "the byte the writer wrote");
    while (waitpid(writer, &status, 0) < 0)
        if (errno != EINTR)
            setup_failed("waitpid for the writer");
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fail(__FILE__, __LINE__,
             "the writer: expected it to exit with status 0 once read, but it "
             "%s",
             describe_wait_status(status));
}

static void test_mmap_create_of_a_character_device_fails_with_enodev(void) {
    struct stat info;

    if (stat("/dev/null", &info) != 0 || !S_ISCHR(info.st_mode))
        setup_failed("/dev/null is not a character device");
    errno = 0;
    expect_null(mmap_create("/dev/null"), "mmap_create(\"/dev/null\")");
    expect_errno(errno, ENODEV, "mmap_create(\"/dev/null\")");
}

static void test_mmap_create_of_an_unreadable_file_fails_with_eacces(void) {
    char path[PATH_MAX];

    copy_fixture("hello.txt", path);
    if (chmod(path, 0000) != 0)
        setup_failed("chmod 0000");
    drop_root_privileges();
    expect_true(access(path, R_OK) != 0,
                "precondition: the file is not readable to this user");
    errno = 0;
    expect_null(mmap_create(path), "mmap_create of a mode 0000 file");
    expect_errno(errno, EACCES, "mmap_create of a mode 0000 file");
}

static void test_empty_file_maps_with_length_0_and_reads_0(void) {
    char path[PATH_MAX];
    unsigned char buffer[10];
    mmap *map;

    copy_fixture("empty.txt", path);
    map = map_file(path);
    expect_size(map->length, 0, "length of an empty file");
    expect_hex(mmap_segment_of(map)->end, mmap_segment_of(map)->start,
               "MMAP segment of an empty file is empty");
    expect_size(mmap_read(map, buffer, 0, sizeof buffer), 0, "read of empty");
    expect_size(mmap_write(map, "x", 0, 1), 0, "write to empty");
    expect_int(mmap_sync(map), 0, "mmap_sync of an empty mapping");
    expect_size(map->mmu->num_page_faults, 0, "page faults");
    munmap(map);
    expect_size(file_size(path), 0, "size of the empty file after munmap");
    expect_all_frames_free("after munmap");
}

static void test_read_only_file_maps_read_only_and_write_is_eacces(void) {
    char path[PATH_MAX];
    unsigned char *fixture, buffer[64];
    size_t size;
    mmap *map;

    fixture = load_fixture("hello.txt", &size);
    copy_fixture("hello.txt", path);
    if (chmod(path, 0444) != 0)
        setup_failed("chmod 0444");
    drop_root_privileges();
    expect_true(access(path, W_OK) != 0,
                "precondition: the file is not writable to this user");
    expect_true(access(path, R_OK) == 0,
                "precondition: the file is readable to this user");

    map = map_file(path);
    expect_size(map->length, size, "length of the read-only mapping");
    expect_true(!map->writable, "the mapping says it is not writable");
    expect_true(!(mmap_segment_of(map)->permissions & WRITE),
                "the MMAP segment of a read-only mapping has no WRITE");
    expect_size(map->mmu->num_segmentation_faults, 0, "segfaults at first");
    errno = 0;
    expect_size(mmap_write(map, "X", 0, 1), 0,
                "bytes written through a read-only mapping");
    expect_errno(errno, EACCES, "mmap_write through a read-only mapping");
    expect_size(map->mmu->num_segmentation_faults, 1,
                "segfaults after one refused mmap_write");

    errno = 0;
    expect_size(mmu_write_to_virtual_address(map->mmu, map_address(map, 0),
                                             DEFAULT_PID, "Y", 1),
                0, "bytes written by the MMU to the read-only segment");
    expect_errno(errno, EACCES, "MMU write to the read-only segment");
    expect_size(map->mmu->num_segmentation_faults, 2,
                "segfaults after the refused MMU write");

    expect_size(mmap_read(map, buffer, 0, sizeof buffer), size,
                "bytes read through the read-only mapping");
    expect_bytes(buffer, fixture, size, "bytes read through it");
    expect_int(mmap_sync(map), 0, "mmap_sync of a read-only mapping");
    munmap(map);

    expect_file_contents(path, fixture, size, "file after munmap (unchanged)");
    free(fixture);
}

static void
test_read_only_mapping_refuses_every_write_even_empty_or_past_the_end(void) {
    char path[PATH_MAX];
    unsigned char *fixture;
    size_t size, i;
    mmap *map;

    fixture = load_fixture("hello.txt", &size);
    copy_fixture("hello.txt", path);

    /* A writable mapping: nothing to write is no error, errno untouched. */
    map = map_file(path);
    errno = ENOTTY;
    expect_size(mmap_write(map, "X", size, 1), 0,
                "bytes written at offset == length, writable mapping");
    expect_errno(errno, ENOTTY,
                 "errno after a write at offset == length, writable mapping "
                 "(as it was)");
    errno = ENOTTY;
    expect_size(mmap_write(map, "X", 0, 0), 0,
                "bytes written of 0 at offset 0, writable mapping");
    expect_errno(
        errno, ENOTTY,
        "errno after a write of 0 bytes, writable mapping (as it was)");
    expect_size(map->mmu->num_segmentation_faults, 0,
                "segfaults of the writable mapping");
    munmap(map);

    if (chmod(path, 0444) != 0)
        setup_failed("chmod 0444");
    drop_root_privileges();
    expect_true(access(path, W_OK) != 0,
                "precondition: the file is not writable to this user");
    map = map_file(path);
    expect_true(!map->writable, "the mapping says it is not writable");
    {
        /* Writes that reach no byte of the file: refused, no fault. */
        const struct {
            size_t offset, count;
        } empty[] = {{0, 0},
                     {size, 5},
                     {size + 1, 1},
                     {(size_t)1 << 40, 5},
                     {SIZE_MAX, 1}};

        for (i = 0; i < sizeof empty / sizeof empty[0]; i++) {
            const char *what = describe("write of %zu bytes at offset %zu of a "
                                        "%zu-byte read-only mapping",
                                        empty[i].count, empty[i].offset, size);
            errno = 0;
            expect_size(
                mmap_write(map, "HELLO", empty[i].offset, empty[i].count), 0,
                what);
            expect_errno(errno, EACCES, what);
            expect_size(map->mmu->num_segmentation_faults, 0,
                        describe("segfaults after the %s (none: it reaches no "
                                 "byte)",
                                 what));
        }
    }

    /* Writes that would reach the file: the MMU refuses them and counts. */
    errno = 0;
    expect_size(mmap_write(map, "HELLO", 0, 5), 0,
                "bytes written of 5 at offset 0, read-only mapping");
    expect_errno(errno, EACCES, "write of 5 at offset 0, read-only mapping");
    expect_size(map->mmu->num_segmentation_faults, 1,
                "segfaults after the write of 5 bytes at offset 0");
    errno = 0;
    expect_size(mmap_write(map, "HELLO", size - 1, 5), 0,
                "bytes written of 5 at the last byte, read-only mapping");
    expect_errno(errno, EACCES, "write at the last byte, read-only mapping");
    expect_size(map->mmu->num_segmentation_faults, 2,
                "segfaults after the write at the last byte");
    munmap(map);

    expect_file_contents(path, fixture, size, "file after munmap (unchanged)");
    free(fixture);
}

static void
test_one_gib_sparse_file_maps_and_its_last_page_is_written_back(void) {
    const size_t size = (size_t)1 << 30;
    char path[PATH_MAX];
    unsigned char byte = 0xEE;
    mmap *map;

    make_sparse_file("one_gib.bin", (off_t)size, path);
    map = map_file(path);
    expect_size(map->length, size, "length of a 1 GiB file");
    expect_size(mmap_segment_of(map)->end - mmap_segment_of(map)->start, size,
                "MMAP segment bytes for 1 GiB");
    expect_size(mmap_read(map, &byte, size - 1, 1), 1, "read of the last byte");
    expect_size(byte, 0, "last byte of a sparse file");
    expect_size(mmap_write(map, "Z", size - 1, 1), 1, "write of the last byte");
    expect_size(mmap_write(map, "M", size / 2, 1), 1, "write of the middle");
    expect_size(map->mmu->num_page_faults, 2, "page faults");
    munmap(map);
    expect_size(file_size(path), size, "size of the file after munmap");
    read_file_at(path, (off_t)(size - 1), &byte, 1);
    expect_size(byte, 'Z', "last byte on disk");
    read_file_at(path, (off_t)(size / 2), &byte, 1);
    expect_size(byte, 'M', "middle byte on disk");
    read_file_at(path, (off_t)(size - 2), &byte, 1);
    expect_size(byte, 0, "byte before the last, on disk");
    expect_all_frames_free("after munmap");
}

static void test_file_filling_the_whole_mmap_region_maps(void) {
    char path[PATH_MAX];
    unsigned char byte = 0xEE;
    mmap *map;

    make_sparse_file("full_region.bin", (off_t)MMAP_REGION_SIZE, path);
    map = map_file(path);
    expect_size(map->length, MMAP_REGION_SIZE, "length of a 1.75 GiB file");
    expect_hex(mmap_segment_of(map)->end, MMAP_REGION_START + MMAP_REGION_SIZE,
               "MMAP end for 1.75 GiB");
    expect_size(mmap_read(map, &byte, MMAP_REGION_SIZE - 1, 1), 1,
                "read of the last byte");
    expect_size(byte, 0, "last byte");
    munmap(map);
    expect_size(file_size(path), MMAP_REGION_SIZE, "file size after munmap");
}

static void test_file_larger_than_the_mmap_region_fails_with_enomem(void) {
    char path[PATH_MAX];

    make_sparse_file("one_byte_too_big.bin", (off_t)MMAP_REGION_SIZE + 1, path);
    errno = 0;
    expect_null(mmap_create(path), "mmap_create of 1.75 GiB + 1 byte");
    expect_errno(errno, ENOMEM, "mmap_create of 1.75 GiB + 1 byte");

    make_sparse_file("two_gib.bin", (off_t)2 << 30, path);
    errno = 0;
    expect_null(mmap_create(path), "mmap_create of 2 GiB");
    expect_errno(errno, ENOMEM, "mmap_create of 2 GiB");
    expect_all_frames_free("after the refusals");
}

/* ================================================================== */
/* mmap.h: reading and writing                                         */
/* ================================================================== */

static void test_mmap_read_of_whole_file_equals_the_file(void) {
    static const char *const names[] = {"hello.txt", "lorem.txt",
                                        "one_page.txt"};
    static unsigned char buffer[10000];
    char path[PATH_MAX];
    size_t i, size;

    for (i = 0; i < 3; i++) {
        unsigned char *fixture = load_fixture(names[i], &size);
        mmap *map;
        copy_fixture(names[i], path);
        map = map_file(path);
        memset(buffer, 0xEE, sizeof buffer);
        expect_size(mmap_read(map, buffer, 0, size), size,
                    describe("bytes read of %s", names[i]));
        expect_bytes(buffer, fixture, size, describe("%s as read", names[i]));
        munmap(map);
        free(fixture);
    }
}

static void test_mmap_read_is_clipped_at_length(void) {
    static unsigned char buffer[20000];
    char path[PATH_MAX];
    unsigned char *fixture;
    size_t size;
    mmap *map;

    fixture = load_fixture("lorem.txt", &size);
    copy_fixture("lorem.txt", path);
    map = map_file(path);
    memset(buffer, 0xEE, sizeof buffer);
    expect_size(mmap_read(map, buffer, 0, sizeof buffer), 10000,
                "bytes read when asking for 20000 of 10000");
    expect_bytes(buffer, fixture, 10000, "bytes read");
    expect_all_bytes(buffer + 10000, 0xEE, 10000, "buffer past the length");

    memset(buffer, 0xEE, sizeof buffer);
    expect_size(mmap_read(map, buffer, 9990, 100), 10,
                "bytes read of 100 at offset 9990");
    expect_bytes(buffer, fixture + 9990, 10, "last 10 bytes");
    expect_all_bytes(buffer + 10, 0xEE, 90, "buffer past the 10 bytes");
    munmap(map);
    free(fixture);
}

static void test_mmap_read_goes_through_the_mmu_tlb_and_fault_counters(void) {
    static unsigned char buffer[10000];
    char path[PATH_MAX];
    mmap *map;

    copy_fixture("lorem.txt", path);
    map = map_file(path);
    expect_size(mmap_read(map, buffer, 0, 1), 1, "read byte 0");
    expect_size(map->mmu->num_page_faults, 1, "page faults after byte 0");
    expect_size(map->mmu->num_tlb_misses, 1, "TLB misses after byte 0");
    expect_size(mmap_read(map, buffer, 1, 1), 1, "read byte 1");
    expect_size(map->mmu->num_page_faults, 1, "page faults after byte 1");
    expect_size(map->mmu->num_tlb_misses, 1, "TLB misses after byte 1 (hit)");
    expect_size(mmap_read(map, buffer, 4096, 1), 1, "read byte 4096");
    expect_size(map->mmu->num_page_faults, 2, "page faults after byte 4096");
    expect_size(map->mmu->num_tlb_misses, 2, "TLB misses after byte 4096");
    expect_size(mmap_read(map, buffer, 0, 10000), 10000, "read all");
    expect_size(map->mmu->num_page_faults, 3, "page faults after reading all");
    expect_size(map->mmu->num_tlb_misses, 3, "TLB misses after reading all");
    expect_size(mmap_read(map, buffer, 0, 10000), 10000, "read all again");
    expect_size(map->mmu->num_page_faults, 3, "page faults after rereading");
    expect_size(map->mmu->num_tlb_misses, 3, "TLB misses after rereading");
    expect_size(mmap_write(map, "w", 9000, 1), 1, "write byte 9000");
    expect_size(map->mmu->num_page_faults, 3, "page faults after a write");
    expect_size(map->mmu->num_segmentation_faults, 0, "segfaults");
    munmap(map);
}

static void test_mmu_read_at_the_mapping_address_returns_the_file_bytes(void) {
    static const struct {
        size_t offset, count;
    } ranges[] = {{0, 100}, {4090, 20}, {9990, 10}, {0, 10000}};
    static unsigned char buffer[10000];
    char path[PATH_MAX];
    unsigned char *fixture;
    size_t size, i;
    mmap *map;

    fixture = load_fixture("lorem.txt", &size);
    copy_fixture("lorem.txt", path);
    map = map_file(path);
    for (i = 0; i < sizeof ranges / sizeof ranges[0]; i++) {
        memset(buffer, 0xEE, sizeof buffer);
        expect_size(mmu_read_from_virtual_address(
                        map->mmu, map_address(map, ranges[i].offset),
                        DEFAULT_PID, buffer, ranges[i].count),
                    ranges[i].count,
                    describe("MMU read of %zu bytes at offset %zu",
                             ranges[i].count, ranges[i].offset));
        expect_bytes(buffer, fixture + ranges[i].offset, ranges[i].count,
                     describe("MMU read of %zu bytes at offset %zu",
                              ranges[i].count, ranges[i].offset));
    }
    munmap(map);
    free(fixture);
}

static void test_mmu_write_is_seen_by_mmap_read_and_written_back(void) {
    char path[PATH_MAX];
    unsigned char *fixture, got[4];
    size_t size;
    mmap *map;

    fixture = load_fixture("lorem.txt", &size);
    copy_fixture("lorem.txt", path);
    map = map_file(path);
    expect_size(mmu_write_to_virtual_address(map->mmu, map_address(map, 4094),
                                             DEFAULT_PID, "ABCD", 4),
                4, "MMU write across pages 0 and 1");
    expect_size(mmap_read(map, got, 4094, 4), 4, "mmap_read of those bytes");
    expect_bytes(got, "ABCD", 4, "mmap_read after the MMU write");
    munmap(map);

    memcpy(fixture + 4094, "ABCD", 4);
    expect_file_contents(path, fixture, size, "file after munmap");
    free(fixture);
}

/*
 * The struct is what mmap_create saw; the MMU's page rights decide. After
 * vm_mprotect to read-only, mmap_write fails as the MMU refuses it while
 * `writable` still says how the file was opened.
 */
static void
test_vm_mprotect_read_only_refuses_mmap_write_while_writable_stays_true(void) {
    char path[PATH_MAX], got[5];
    mmap *map;
    addr32 start;

    copy_fixture("hello.txt", path);
    map = map_file(path);
    start = (addr32)map->start_address;
    expect_true((uintptr_t)start == map->start_address,
                describe("start_address 0x%jx fits an addr32",
                         (uintmax_t)map->start_address));
    expect_int(
        vm_mprotect(map->mmu, DEFAULT_PID, start, PAGE_SIZE, VM_PROT_READ), 0,
        "vm_mprotect of the mapping to VM_PROT_READ");
    errno = 0;
    expect_size(mmap_write(map, "J", 0, 1), 0, "mmap_write after vm_mprotect");
    expect_errno(errno, EACCES, "mmap_write after vm_mprotect (the MMU's)");
    expect_size(map->mmu->num_segmentation_faults, 1,
                "segmentation faults after the refused write");
    expect_true(map->writable, "writable after vm_mprotect (how the file "
                               "was opened: still true)");
    expect_size(mmap_read(map, got, 0, 5), 5, "mmap_read after vm_mprotect");
    expect_bytes(got, "Hello", 5, "the bytes, unchanged");
    expect_int(vm_mprotect(map->mmu, DEFAULT_PID, start, PAGE_SIZE,
                           VM_PROT_READ | VM_PROT_WRITE),
               0, "vm_mprotect back to read-write");
    expect_size(mmap_write(map, "J", 0, 1), 1, "mmap_write after it");
    munmap(map);
    expect_file_contents(path, "Jello, mapped world!\n", 21,
                         "file after munmap (the second write only)");
}

static void test_mmap_write_reaches_the_file_at_munmap(void) {
    static const char text[] = "Hello, mapping!";
    char path[PATH_MAX];
    unsigned char *fixture, got[sizeof text];
    size_t size;
    mmap *map;

    fixture = load_fixture("lorem.txt", &size);
    copy_fixture("lorem.txt", path);
    map = map_file(path);
    expect_size(mmap_write(map, text, 5000, sizeof text - 1), sizeof text - 1,
                "bytes written at offset 5000");
    expect_size(mmap_read(map, got, 5000, sizeof text - 1), sizeof text - 1,
                "bytes read back");
    expect_bytes(got, text, sizeof text - 1, "bytes read back");
    munmap(map);

    memcpy(fixture + 5000, text, sizeof text - 1);
    expect_file_contents(path, fixture, size, "file after munmap");
    free(fixture);
}

static void
test_mmap_write_does_not_reach_the_file_before_munmap_or_sync(void) {
    char path[PATH_MAX];
    unsigned char *fixture, *now;
    size_t size, now_size;
    mmap *map;

    fixture = load_fixture("lorem.txt", &size);
    copy_fixture("lorem.txt", path);
    map = map_file(path);
    expect_size(mmap_write(map, "EARLY", 0, 5), 5, "write at offset 0");
    expect_size(mmap_write(map, "LATE", 8000, 4), 4, "write at offset 8000");

    expect_file_contents(path, fixture, size, "file while mapped, before any sync");

    munmap(map);
    now = load_file(path, &now_size);
    memcpy(fixture, "EARLY", 5);
    memcpy(fixture + 8000, "LATE", 4);
    expect_bytes(now, fixture, size, "file after munmap");
    free(now);
    free(fixture);
}

static void test_mmap_sync_writes_dirty_pages_and_leaves_them_clean(void) {
    char path[PATH_MAX];
    unsigned char *fixture, *now;
    size_t size, now_size;
    mmap *map;

    fixture = load_fixture("lorem.txt", &size);
    copy_fixture("lorem.txt", path);
    map = map_file(path);
    expect_size(mmap_write(map, "SYNCED", 4100, 6), 6, "write into page 1");
    expect_true(page_dirty(map->mmu, DEFAULT_PID, map_address(map, 4096)),
                "page 1 dirty after the write");
    expect_int(mmap_sync(map), 0, "mmap_sync");

    now = load_file(path, &now_size);
    memcpy(fixture + 4100, "SYNCED", 6);
    expect_size(now_size, size, "file size after sync");
    expect_bytes(now, fixture, size, "file after mmap_sync");
    free(now);
    expect_true(!page_dirty(map->mmu, DEFAULT_PID, map_address(map, 4096)),
                "page 1 clean after mmap_sync");
    expect_true(map_page_present(map, 1), "page 1 still present after sync");
    expect_size(map->mmu->num_page_faults, 1, "page faults");
    munmap(map);
    free(fixture);
}

static void test_munmap_after_sync_does_not_write_a_clean_page_again(void) {
    char path[PATH_MAX];
    unsigned char got[6];
    mmap *map;

    copy_fixture("lorem.txt", path);
    map = map_file(path);
    expect_size(mmap_write(map, "SYNC", 0, 4), 4, "write at 0");
    expect_int(mmap_sync(map), 0, "mmap_sync");
    read_file_at(path, 0, got, 4);
    expect_bytes(got, "SYNC", 4, "file after mmap_sync");

    /* Someone else changes the same page; the mapping has nothing new. */
    write_file_at(path, 100, "OUTSDE", 6);
    munmap(map);
    read_file_at(path, 100, got, 6);
    expect_bytes(got, "OUTSDE", 6,
                 "external change in the synced page after munmap");
    read_file_at(path, 0, got, 4);
    expect_bytes(got, "SYNC", 4, "synced bytes after munmap");
}

static void test_munmap_writes_only_dirty_pages_so_clean_changes_survive(void) {
    static unsigned char buffer[10000];
    char path[PATH_MAX];
    unsigned char *fixture, *after;
    size_t size, after_size;
    mmap *map;

    fixture = load_fixture("lorem.txt", &size);
    copy_fixture("lorem.txt", path);
    map = map_file(path);
    expect_size(mmap_read(map, buffer, 0, size), size, "read all (3 pages)");
    expect_size(mmap_write(map, "DIRTY", 4096, 5), 5, "write into page 1");

    write_file_at(path, 10, "ZERO", 4);   /* clean page 0 */
    write_file_at(path, 8200, "TWO!", 4); /* clean page 2 */
    munmap(map);

    after = load_file(path, &after_size);
    expect_size(after_size, size, "file size");
    memcpy(fixture + 10, "ZERO", 4);
    memcpy(fixture + 4096, "DIRTY", 5);
    memcpy(fixture + 8200, "TWO!", 4);
    expect_bytes(after, fixture, size,
                 "file: external changes in clean pages 0 and 2 survive, "
                 "page 1 has the write");
    free(after);
    free(fixture);
}

static void
test_mmap_write_at_the_end_is_clipped_and_the_file_never_grows(void) {
    char path[PATH_MAX];
    unsigned char *fixture, got[20];
    size_t size;
    mmap *map;

    fixture = load_fixture("hello.txt", &size);
    copy_fixture("hello.txt", path);
    map = map_file(path);
    expect_size(mmap_write(map, "0123456789ABCDEFGHIJ", 15, 20), 6,
                "bytes written of 20 at offset 15 of 21");
    memset(got, 0xEE, sizeof got);
    expect_size(mmap_read(map, got, 15, 20), 6, "bytes read back");
    expect_bytes(got, "012345", 6, "bytes read back");
    munmap(map);
    expect_size(file_size(path), 21, "file size after munmap");
    memcpy(fixture + 15, "012345", 6);
    expect_file_contents(path, fixture, 21, "file after munmap");
    free(fixture);

    copy_fixture("one_page.txt", path);
    map = map_file(path);
    expect_size(mmap_write(map, "0123456789", 4090, 10), 6,
                "bytes written of 10 at offset 4090 of 4096");
    munmap(map);
    expect_size(file_size(path), 4096, "one_page.txt size after munmap");
}

static void
test_bytes_past_eof_in_the_last_page_read_as_zero_through_mmu(void) {
    static unsigned char buffer[PAGE_SIZE];
    char path[PATH_MAX];
    mmap *map;

    dirty_every_frame(); /* the pager must clear the tail, not find it so */
    copy_fixture("hello.txt", path);
    map = map_file(path);
    memset(buffer, 0xEE, sizeof buffer);
    expect_size(mmu_read_from_virtual_address(map->mmu, map_address(map, 21),
                                              DEFAULT_PID, buffer,
                                              PAGE_SIZE - 21),
                PAGE_SIZE - 21, "MMU read of the rest of the last page");
    expect_all_bytes(buffer, 0, PAGE_SIZE - 21, "bytes past end of file");
    errno = 0;
    expect_size(mmu_read_from_virtual_address(map->mmu,
                                              map_address(map, PAGE_SIZE),
                                              DEFAULT_PID, buffer, 1),
                0, "MMU read past the last page of the mapping");
    expect_errno(errno, EFAULT, "MMU read past the last page");
    munmap(map);

    copy_fixture("lorem.txt", path);
    map = map_file(path);
    memset(buffer, 0xEE, sizeof buffer);
    expect_size(mmu_read_from_virtual_address(map->mmu, map_address(map, 10000),
                                              DEFAULT_PID, buffer,
                                              3 * PAGE_SIZE - 10000),
                3 * PAGE_SIZE - 10000, "MMU read of lorem's last page tail");
    expect_all_bytes(buffer, 0, 3 * PAGE_SIZE - 10000,
                     "lorem's bytes past end of file");
    munmap(map);
}

static void
test_mmu_write_past_eof_in_the_last_page_never_grows_the_file(void) {
    char path[PATH_MAX];
    unsigned char *fixture;
    size_t size;
    mmap *map;

    fixture = load_fixture("hello.txt", &size);
    copy_fixture("hello.txt", path);
    map = map_file(path);
    expect_size(mmu_write_to_virtual_address(map->mmu, map_address(map, 21),
                                             DEFAULT_PID, "TAIL", 4),
                4, "MMU write just past end of file, inside the last page");
    expect_size(mmu_write_to_virtual_address(map->mmu, map_address(map, 0),
                                             DEFAULT_PID, "h", 1),
                1, "MMU write of byte 0");
    expect_int(mmap_sync(map), 0, "mmap_sync");
    expect_size(file_size(path), 21, "file size after sync");
    munmap(map);
    expect_size(file_size(path), 21, "file size after munmap");
    fixture[0] = 'h';
    expect_file_contents(path, fixture, 21, "file after munmap");
    free(fixture);
}

static void test_mmap_offset_at_or_past_the_end_gives_0(void) {
    char path[PATH_MAX];
    unsigned char buffer[8], *fixture;
    size_t size;
    mmap *map;

    fixture = load_fixture("hello.txt", &size);
    copy_fixture("hello.txt", path);
    map = map_file(path);
    memset(buffer, 0xEE, sizeof buffer);
    expect_size(mmap_read(map, buffer, 21, 5), 0, "read at offset 21 of 21");
    expect_size(mmap_read(map, buffer, 22, 5), 0, "read at offset 22 of 21");
    expect_size(mmap_read(map, buffer, 1 << 20, 5), 0, "read at 1 MiB");
    expect_all_bytes(buffer, 0xEE, sizeof buffer, "buffer after the reads");
    expect_size(mmap_write(map, "abcde", 21, 5), 0, "write at offset 21");
    expect_size(mmap_write(map, "abcde", PAGE_SIZE, 5), 0, "write at 4096");
    expect_size(mmap_read(map, buffer, 0, 0), 0, "read of 0 bytes");
    munmap(map);
    expect_file_contents(path, fixture, size, "file after munmap");
    free(fixture);
}

static void test_mmap_offset_plus_count_overflow_is_clipped(void) {
    char path[PATH_MAX];
    unsigned char buffer[32], *fixture;
    size_t size;
    mmap *map;

    fixture = load_fixture("hello.txt", &size);
    copy_fixture("hello.txt", path);
    map = map_file(path);
    memset(buffer, 0xEE, sizeof buffer);
    expect_size(mmap_read(map, buffer, 5, SIZE_MAX), 16,
                "read of SIZE_MAX bytes at offset 5");
    expect_bytes(buffer, fixture + 5, 16, "bytes read");
    expect_all_bytes(buffer + 16, 0xEE, sizeof buffer - 16,
                     "buffer past the bytes read");
    expect_size(mmap_read(map, buffer, SIZE_MAX, 10), 0,
                "read at offset SIZE_MAX");
    expect_size(mmap_read(map, buffer, SIZE_MAX - 2, 10), 0,
                "read at offset SIZE_MAX - 2");
    expect_size(mmap_write(map, "x", 20, SIZE_MAX), 1,
                "write of SIZE_MAX bytes at offset 20");
    expect_size(mmap_write(map, "y", SIZE_MAX - 1, 5), 0,
                "write at offset SIZE_MAX - 1");
    munmap(map);
    fixture[20] = 'x';
    expect_file_contents(path, fixture, 21, "file after munmap");
    free(fixture);
}

static void test_mmap_read_and_write_with_null_map_or_buffer_are_einval(void) {
    char path[PATH_MAX];
    unsigned char buffer[4], *fixture;
    size_t size;
    mmap *map;

    errno = 0;
    expect_size(mmap_read(NULL, buffer, 0, 4), 0, "mmap_read(NULL map)");
    expect_errno(errno, EINVAL, "mmap_read(NULL map)");
    errno = 0;
    expect_size(mmap_write(NULL, "abcd", 0, 4), 0, "mmap_write(NULL map)");
    expect_errno(errno, EINVAL, "mmap_write(NULL map)");

    fixture = load_fixture("hello.txt", &size);
    copy_fixture("hello.txt", path);
    map = map_file(path);
    errno = 0;
    expect_size(mmap_read(map, NULL, 0, 4), 0, "mmap_read(NULL buffer)");
    expect_errno(errno, EINVAL, "mmap_read(NULL buffer)");
    errno = 0;
    expect_size(mmap_write(map, NULL, 0, 4), 0, "mmap_write(NULL buffer)");
    expect_errno(errno, EINVAL, "mmap_write(NULL buffer)");
    munmap(map);
    expect_file_contents(path, fixture, size, "file after the refused calls");
    free(fixture);
}

static void
test_mmap_sync_of_null_is_einval_and_munmap_of_null_is_a_no_op(void) {
    errno = 0;
    expect_int(mmap_sync(NULL), -1, "mmap_sync(NULL)");
    expect_errno(errno, EINVAL, "mmap_sync(NULL)");
    munmap(NULL);
}

static void test_munmap_returns_every_frame_to_the_pool(void) {
    static unsigned char buffer[10000];
    char path[PATH_MAX];
    int round;

    copy_fixture("lorem.txt", path);
    for (round = 0; round < 2; round++) {
        mmap *map = map_file(path);
        expect_size(mmap_read(map, buffer, 0, 10000), 10000, "read all");
        expect_size(mmap_write(map, "frame", 4096, 5), 5, "write page 1");
        expect_true(kernel_frames_free() < kernel_frames_total(),
                    "frames are in use while mapped");
        munmap(map);
        expect_all_frames_free(describe("after munmap, round %d", round));
    }
}

/* The number of file descriptors open in this process. */
static size_t open_descriptors(void) {
    size_t count = 0;
    int fd;

    for (fd = 0; fd < 1024; fd++)
        if (fcntl(fd, F_GETFD) != -1)
            count++;
    return count;
}

static void
test_munmap_closes_the_file_and_failed_creates_leave_none_open(void) {
    char path[PATH_MAX], fifo[PATH_MAX], big[PATH_MAX];
    size_t before;
    mmap *map, *second;
    int fd;

    copy_fixture("hello.txt", path);
    path_in_work_dir("a_fifo", fifo);
    if (mkfifo(fifo, 0644) != 0)
        setup_failed("mkfifo");
    make_sparse_file("too_big.bin", (off_t)MMAP_REGION_SIZE + 1, big);
    before = open_descriptors();

    /* The stream, and the page cache's own descriptor for the file. */
    map = map_file(path);
    expect_size(open_descriptors(), before + 2, "descriptors while mapped");
    /* A second mapping of the file adds its stream; the cache has the file. */
    second = map_file(path);
    expect_size(open_descriptors(), before + 3,
                "descriptors while the file is mapped twice");
    munmap(second);
    expect_size(open_descriptors(), before + 2,
                "descriptors after the second mapping ends");
    fd = fileno(map->stream);
    expect_size(mmap_write(map, "J", 0, 1), 1, "write through the map");
    munmap(map);
    errno = 0;
    expect_int(fcntl(fd, F_GETFD), -1,
               "the mapped file's descriptor after "
               "munmap (closed)");
    expect_size(open_descriptors(), before, "descriptors after munmap");

    alarm(10); /* opening a FIFO for reading alone would block here */
    expect_null(mmap_create(work_dir), "mmap_create of a directory");
    expect_null(mmap_create(fifo), "mmap_create of a FIFO");
    expect_null(mmap_create("/dev/null"), "mmap_create of /dev/null");
    expect_null(mmap_create(big), "mmap_create of a file too big");
    expect_size(open_descriptors(), before,
                "descriptors after four failed mmap_create calls");
    expect_all_frames_free("after the failed creates");
}

/* ================================================================== */
/* munmap.c: one munmap for the lab's calls and the host's             */
/* ================================================================== */

static void expect_host_unmapping(const host_unmapping *done,
                                  const char *where) {
    expect_int(done->result, 0,
               describe("munmap(page, 4096) %s: its result", where));
    expect_errno(done->error, 0, describe("munmap(page, 4096) %s", where));
    expect_true(done->first_page_gone,
                describe("the page munmap(page, 4096) %s named is unmapped "
                         "(mincore: ENOMEM)",
                         where));
    expect_true(done->second_page_kept,
                describe("the next page, outside the 4096 bytes munmap %s "
                         "was given, is still mapped with its bytes",
                         where));
}

static void expect_refused_as_the_host_refuses(const host_refusal *refusal,
                                               const char *what) {
    expect_int(refusal->syscall_result, -1,
               describe("%s: the system call's result", what));
    expect_errno(refusal->syscall_error, EINVAL,
                 describe("%s: the system call", what));
    expect_int(refusal->result, refusal->syscall_result,
               describe("%s: munmap's result, as the system call's", what));
    expect_errno(refusal->error, refusal->syscall_error,
                 describe("%s: munmap, as the system call", what));
}

static void
test_host_munmap_from_a_file_without_mmap_h_unmaps_the_range_it_names(void) {
    host_unmapping done;

    host_calls_unmap_first_of_two_pages(host_calls_munmap, &done);
    expect_host_unmapping(&done, "in tests/host_calls.c");
}

static void
test_host_munmap_from_a_file_without_mmap_h_refuses_what_the_host_refuses(
    void) {
    host_refusal unaligned, empty;

    host_calls_refused_munmaps(host_calls_munmap, &unaligned, &empty);
    expect_refused_as_the_host_refuses(
        &unaligned, "munmap(page + 1, 4096) in tests/host_calls.c");
    expect_refused_as_the_host_refuses(&empty,
                                       "munmap(page, 0) in tests/host_calls.c");
}

typedef void any_function(void);

static void
test_host_munmap_from_a_shared_library_is_the_programs_and_unmaps(void) {
    host_unmapping done;
    host_refusal unaligned, empty;

    /* The dynamic linker found the executable's munmap, not the C library's. */
    expect_ptr((void *)(any_function *)host_user_munmap_address(),
               (void *)(any_function *)munmap,
               "munmap as tests/libhostuser.so resolves it, against the "
               "program's");
    host_calls_unmap_first_of_two_pages(host_user_munmap, &done);
    expect_host_unmapping(&done, "in tests/libhostuser.so");
    host_calls_refused_munmaps(host_user_munmap, &unaligned, &empty);
    expect_refused_as_the_host_refuses(
        &unaligned, "munmap(page + 1, 4096) in tests/libhostuser.so");
    expect_refused_as_the_host_refuses(
        &empty, "munmap(page, 0) in tests/libhostuser.so");
}

static void test_a_mapping_handed_to_munmap_by_a_shared_library_is_ended(void) {
    char path[PATH_MAX];
    mmap *map;

    copy_fixture("hello.txt", path);
    map = map_file(path);
    expect_size(mmap_write(map, "HOWDY", 0, 5), 5, "mmap_write of HOWDY");
    expect_int(host_user_munmap(map, 0), 0,
               "munmap(map, 0) of a live mapping, in tests/libhostuser.so");
    expect_all_frames_free("after the library's munmap of the mapping");
    expect_file_contents(path, "HOWDY, mapped world!\n", 21,
                         "file after the library's munmap (written back)");
}

static void
test_munmap_of_a_mapping_already_unmapped_frees_nothing_and_sets_einval(void) {
    enum { MAPS = 64 };
    char path[PATH_MAX];
    mmap *map;
    int round;

    copy_fixture("hello.txt", path);
    for (round = 0; round < MAPS; round++) {
        map = map_file(path);
        /* The guard against unmapping a page: never page aligned. */
        expect_true((uintptr_t)map % PAGE_SIZE != 0,
                    describe("mapping %p (round %d) is not page aligned",
                             (void *)map, round));
        munmap(map);
        errno = 0;
        munmap(map); /* stale: the host's munmap, which refuses it */
        expect_errno(errno, EINVAL,
                     describe("second munmap of one mapping, round %d", round));
    }
    expect_all_frames_free("after every mapping was unmapped twice");
}

static void
test_munmap_of_a_struct_mmap_create_did_not_return_leaves_it_untouched(void) {
    union {
        mmap map[2];
        unsigned char bytes[2 * sizeof(mmap)];
    } block;
    unsigned char before[sizeof block];
    mmap *never_mapped = &block.map[1];

    memset(&block, 0xA5, sizeof block); /* garbage, if munmap read it */
    memcpy(before, &block, sizeof block);
    if ((uintptr_t)never_mapped % PAGE_SIZE == 0)
        never_mapped = &block.map[0]; /* one of two 8-aligned structs */
    errno = 0;
    munmap(never_mapped);
    expect_errno(errno, EINVAL, "munmap of a struct on the stack (unaligned)");
    expect_bytes(&block, before, sizeof block,
                 "the struct after munmap (neither read nor written)");
    expect_all_frames_free("after munmap of a struct never mapped");
}

/* ================================================================== */
/* mmap.h: memory pressure and several maps                            */
/* ================================================================== */

static void test_file_many_times_the_pool_is_written_and_read_back_right(void) {
    enum { PAGES = 1024, FRAMES = 32 }; /* 4 MiB through 128 KiB */
    unsigned char want[PAGE_SIZE], got[PAGE_SIZE];
    char path[PATH_MAX];
    size_t page, faults_after_writes;
    mmap *map;

    setenv("MMAP_FRAMES", "32", 1);
    make_sparse_file("four_mib.bin", (off_t)PAGES * PAGE_SIZE, path);
    map = map_file(path);
    for (page = 0; page < PAGES; page++) {
        fill_pattern(want, page, 7);
        expect_size(mmap_write(map, want, page * PAGE_SIZE, PAGE_SIZE),
                    PAGE_SIZE, describe("write of page %zu", page));
    }
    faults_after_writes = map->mmu->num_page_faults;
    expect_size(faults_after_writes, PAGES,
                "page faults after writing each page once");
    for (page = 0; page < PAGES; page++) {
        fill_pattern(want, page, 7);
        memset(got, 0, sizeof got);
        expect_size(mmap_read(map, got, page * PAGE_SIZE, PAGE_SIZE), PAGE_SIZE,
                    describe("read of page %zu", page));
        expect_bytes(got, want, PAGE_SIZE, describe("page %zu", page));
    }
    expect_at_least(map->mmu->num_page_faults - faults_after_writes,
                    PAGES - FRAMES,
                    "page faults while reading back (evicted pages return)");
    munmap(map);
    expect_all_frames_free("after munmap");
    expect_file_pattern(path, PAGES, 7);
}

static void test_evicted_dirty_page_is_written_back_before_munmap(void) {
    enum { PAGES = 32 };
    char path[PATH_MAX];
    unsigned char got[8], byte;
    size_t page;
    mmap *map;

    setenv("MMAP_FRAMES", "8", 1);
    make_sparse_file("pages.bin", (off_t)PAGES * PAGE_SIZE, path);
    map = map_file(path);
    expect_size(mmap_write(map, "EVICTED", 0, 7), 7, "write into page 0");
    read_file_at(path, 0, got, 7);
    expect_all_bytes(got, 0, 7, "page 0 on disk before any eviction");

    trace_log_clear();
    trace_set_hook(record_event, NULL);
    for (page = 1; page < PAGES; page++)
        expect_size(mmap_read(map, &byte, page * PAGE_SIZE, 1), 1,
                    describe("read page %zu", page));
    trace_set_hook(NULL, NULL);

    expect_true(!map_page_present(map, 0),
                "page 0 evicted after 31 other pages went through 8 frames");
    expect_at_least(trace_log.per_event[TRACE_EVICTION], PAGES - 8,
                    "eviction events");
    expect_at_least(trace_log.per_event[TRACE_WRITE_BACK], 1,
                    "write-back events");
    read_file_at(path, 0, got, 7);
    expect_bytes(got, "EVICTED", 7, "page 0 on disk while still mapped");

    memset(got, 0, sizeof got);
    expect_size(mmap_read(map, got, 0, 7), 7, "read page 0 back");
    expect_bytes(got, "EVICTED", 7, "page 0 faulted back in");
    munmap(map);
    expect_size(file_size(path), PAGES * PAGE_SIZE, "file size after munmap");
}

static void test_evicted_clean_page_is_not_written_back(void) {
    enum { PAGES = 32 };
    char path[PATH_MAX];
    unsigned char got[8], byte;
    size_t page;
    mmap *map;

    setenv("MMAP_FRAMES", "8", 1);
    make_sparse_file("pages.bin", (off_t)PAGES * PAGE_SIZE, path);
    map = map_file(path);
    expect_size(mmap_read(map, &byte, 0, 1), 1, "read page 0");
    write_file_at(path, 100, "OUTSIDE", 7); /* behind the mapping's back */

    trace_log_clear();
    trace_set_hook(record_event, NULL);
    for (page = 1; page < PAGES; page++)
        expect_size(mmap_read(map, &byte, page * PAGE_SIZE, 1), 1,
                    describe("read page %zu", page));
    trace_set_hook(NULL, NULL);
    expect_true(!map_page_present(map, 0), "page 0 evicted");
    expect_size(trace_log.per_event[TRACE_WRITE_BACK], 0,
                "write-back events when every page is clean");
    munmap(map);
    read_file_at(path, 100, got, 7);
    expect_bytes(got, "OUTSIDE", 7, "the external change after munmap");
}

/*
 * Reads and writes of every size, at random and in sequential bursts,
 * through a pool far smaller than the file: read-ahead, whole-page writes,
 * clustered write-back and eviction all at once, checked against a plain
 * copy of the file kept in memory.
 */
static void test_random_reads_and_writes_under_pressure_match_a_model(void) {
    enum { PAGES = 96, STEPS = 3000, MAX_ACCESS = 3 * PAGE_SIZE + 100 };
    static unsigned char model[PAGES * PAGE_SIZE], got[MAX_ACCESS],
        bytes[MAX_ACCESS], disk[PAGE_SIZE];
    char path[PATH_MAX];
    uint64_t state = 0x853C49E6748FEA9Bu;
    size_t step, page, offset = 0, length, i;
    mmap *map;

    setenv("MMAP_FRAMES", "64", 1);
    make_pattern_file("model.bin", PAGES, 9, path);
    for (page = 0; page < PAGES; page++)
        fill_pattern(model + page * PAGE_SIZE, page, 9);
    map = map_file(path);
    for (step = 0; step < STEPS; step++) {
        state ^= state << 13, state ^= state >> 7, state ^= state << 17;
        bool sequential = state % 4 == 0, write = (state >> 8) % 3 == 0;
        length = 1 + (size_t)(state >> 16) % MAX_ACCESS;
        offset = sequential ? offset + PAGE_SIZE
                            : (size_t)(state >> 32) % sizeof model;
        if (offset >= sizeof model)
            offset = 0;
        if (length > sizeof model - offset)
            length = sizeof model - offset;
        if (write) {
            for (i = 0; i < length; i++)
                bytes[i] = (unsigned char)(step + i * 7);
            expect_size(
                mmap_write(map, bytes, offset, length), length,
                describe("step %zu: write %zu at %zu", step, length, offset));
            memcpy(model + offset, bytes, length);
        } else {
            expect_size(
                mmap_read(map, got, offset, length), length,
                describe("step %zu: read %zu at %zu", step, length, offset));
            expect_bytes(
                got, model + offset, length,
                describe("step %zu: %zu bytes at %zu", step, length, offset));
        }
    }
    munmap(map);
    expect_all_frames_free("after munmap");
    for (page = 0; page < PAGES; page++) {
        read_file_at(path, (off_t)(page * PAGE_SIZE), disk, PAGE_SIZE);
        expect_bytes(disk, model + page * PAGE_SIZE, PAGE_SIZE,
                     describe("page %zu of the file after munmap", page));
    }
}

static void test_rereading_a_file_larger_than_the_pool_faults_pages_back(void) {
    enum { PAGES = 64, FRAMES = 8 };
    unsigned char want[PAGE_SIZE], got[PAGE_SIZE];
    char path[PATH_MAX];
    size_t page, pass;
    mmap *map;

    setenv("MMAP_FRAMES", "8", 1);
    make_pattern_file("pattern.bin", PAGES, 3, path);
    map = map_file(path);
    for (pass = 0; pass < 2; pass++) {
        for (page = 0; page < PAGES; page++) {
            fill_pattern(want, page, 3);
            expect_size(mmap_read(map, got, page * PAGE_SIZE, PAGE_SIZE),
                        PAGE_SIZE, describe("read page %zu", page));
            expect_bytes(got, want, PAGE_SIZE,
                         describe("page %zu, pass %zu", page, pass));
        }
        if (pass == 0)
            expect_size(map->mmu->num_page_faults, PAGES,
                        "page faults after the first pass");
    }
    expect_at_least(map->mmu->num_page_faults, 2 * PAGES - FRAMES,
                    "page faults after the second pass (pages came back)");
    munmap(map);
    expect_all_frames_free("after munmap");
    expect_file_pattern(path, PAGES, 3);
}

static void test_two_maps_of_different_files_are_independent(void) {
    char hello_path[PATH_MAX], lorem_path[PATH_MAX];
    unsigned char *hello, *lorem, *after, got[32];
    size_t hello_size, lorem_size, after_size;
    mmap *a, *b;

    hello = load_fixture("hello.txt", &hello_size);
    lorem = load_fixture("lorem.txt", &lorem_size);
    copy_fixture("hello.txt", hello_path);
    copy_fixture("lorem.txt", lorem_path);
    a = map_file(hello_path);
    b = map_file(lorem_path);
    expect_true(a->mmu != b->mmu, "each map has its own MMU");
    expect_hex(a->start_address, b->start_address,
               "both start at the MMAP start of their own address space");

    expect_size(mmap_write(a, "HOWDY", 0, 5), 5, "write through map a");
    expect_size(mmap_read(b, got, 0, 32), 32, "read through map b");
    expect_bytes(got, lorem, 32, "map b after a write through map a");
    expect_size(mmap_read(a, got, 0, hello_size), hello_size, "read map a");
    memcpy(hello, "HOWDY", 5);
    expect_bytes(got, hello, hello_size, "map a");
    expect_size(b->mmu->num_page_faults, 1, "map b's page faults");
    expect_size(a->mmu->num_page_faults, 1, "map a's page faults");

    munmap(a);
    expect_size(mmap_read(b, got, 100, 32), 32, "read map b after munmap(a)");
    expect_bytes(got, lorem + 100, 32, "map b after munmap(a)");
    munmap(b);
    expect_all_frames_free("after both munmaps");

    after = load_file(hello_path, &after_size);
    expect_bytes(after, hello, hello_size, "hello file");
    free(after);
    expect_file_contents(lorem_path, lorem, lorem_size, "lorem file unchanged");
    free(hello);
    free(lorem);
}

static void
test_two_maps_of_the_same_file_write_back_only_their_own_pages(void) {
    char path[PATH_MAX];
    unsigned char *lorem, got[16];
    size_t size;
    mmap *a, *b;

    lorem = load_fixture("lorem.txt", &size);
    copy_fixture("lorem.txt", path);
    a = map_file(path);
    b = map_file(path);
    expect_size(mmap_read(a, got, 4096, 16), 16, "map a reads page 1");
    expect_bytes(got, lorem + 4096, 16, "page 1 through map a");
    expect_size(mmap_read(b, got, 4096, 16), 16, "map b reads page 1");
    expect_bytes(got, lorem + 4096, 16, "page 1 through map b");

    expect_size(mmap_write(a, "AAAA", 0, 4), 4, "map a writes page 0");
    expect_size(mmap_write(b, "BBBB", 8192, 4), 4, "map b writes page 2");
    munmap(a);
    munmap(b);
    expect_all_frames_free("after both munmaps");

    memcpy(lorem, "AAAA", 4);
    memcpy(lorem + 8192, "BBBB", 4);
    expect_file_contents(path, lorem, size, "file with both maps' writes");
    free(lorem);
}

static void test_two_maps_of_the_same_file_share_their_pages(void) {
    char path[PATH_MAX];
    unsigned char *lorem, got[16];
    size_t size;
    mmap *a, *b;

    lorem = load_fixture("lorem.txt", &size);
    copy_fixture("lorem.txt", path);
    a = map_file(path);
    b = map_file(path);
    expect_true(a->mmu != b->mmu, "each map has its own MMU");
    expect_size(mmap_read(b, got, 4096, 16), 16, "map b reads page 1");
    expect_bytes(got, lorem + 4096, 16, "page 1 through map b");

    expect_size(mmap_write(a, "SHARED", 4096, 6), 6, "map a writes page 1");
    expect_size(mmap_read(b, got, 4096, 6), 6, "map b reads page 1 again");
    expect_bytes(got, "SHARED", 6, "map b sees map a's write at once");
    expect_size(mmap_write(b, "BACK", 8192, 4), 4, "map b writes page 2");
    expect_size(mmap_read(a, got, 8192, 4), 4, "map a reads page 2");
    expect_bytes(got, "BACK", 4, "map a sees map b's write at once");
    expect_hex(frame_mapped_at(b->mmu, DEFAULT_PID, map_address(b, 4096)),
               frame_mapped_at(a->mmu, DEFAULT_PID, map_address(a, 4096)),
               "both maps map page 1 to one frame");
    munmap(a);
    expect_size(mmap_read(b, got, 4096, 6), 6, "map b after munmap(a)");
    expect_bytes(got, "SHARED", 6, "map b after munmap(a)");
    munmap(b);
    expect_all_frames_free("after both munmaps");
    memcpy(lorem + 4096, "SHARED", 6);
    memcpy(lorem + 8192, "BACK", 4);
    expect_file_contents(path, lorem, size, "the file holds both writes");
    free(lorem);
}

static void
test_eviction_by_one_map_takes_another_maps_page_and_data_lives(void) {
    enum { B_PAGES = 64 };
    char a_path[PATH_MAX], b_path[PATH_MAX];
    unsigned char *lorem, *after, want[PAGE_SIZE], got[PAGE_SIZE];
    char tag[8];
    size_t size, after_size, page, a_faults;
    mmap *a, *b;

    setenv("MMAP_FRAMES", "16", 1);
    lorem = load_fixture("lorem.txt", &size);
    copy_fixture("lorem.txt", a_path);
    make_pattern_file("pattern.bin", B_PAGES, 5, b_path);
    a = map_file(a_path);
    b = map_file(b_path);

    for (page = 0; page < 3; page++) {
        snprintf(tag, sizeof tag, "A-%zu", page);
        expect_size(mmap_write(a, tag, page * PAGE_SIZE, 3), 3,
                    describe("map a writes page %zu", page));
        memcpy(lorem + page * PAGE_SIZE, tag, 3);
    }
    a_faults = a->mmu->num_page_faults;
    expect_size(a_faults, 3, "map a's page faults");

    for (page = 0; page < B_PAGES; page++) {
        fill_pattern(want, page, 5);
        expect_size(mmap_read(b, got, page * PAGE_SIZE, PAGE_SIZE), PAGE_SIZE,
                    describe("map b reads page %zu", page));
        expect_bytes(got, want, PAGE_SIZE, describe("map b page %zu", page));
    }
    for (page = 0; page < 3; page++)
        expect_true(
            !map_page_present(a, page),
            describe("map a's page %zu was taken by map b's faults", page));

    after = load_file(a_path, &after_size);
    expect_bytes(after, lorem, size,
                 "map a's file while mapped (its dirty pages written back "
                 "at eviction)");
    free(after);

    memset(got, 0, sizeof got);
    expect_size(mmap_read(a, got, 0, PAGE_SIZE), PAGE_SIZE, "map a page 0");
    expect_bytes(got, lorem, PAGE_SIZE, "map a's page 0 after eviction");
    expect_size(mmap_read(a, got, 2 * PAGE_SIZE, size - 2 * PAGE_SIZE),
                size - 2 * PAGE_SIZE, "map a page 2");
    expect_bytes(got, lorem + 2 * PAGE_SIZE, size - 2 * PAGE_SIZE,
                 "map a's page 2 after eviction");
    expect_size(a->mmu->num_page_faults, a_faults + 2,
                "map a's page faults after reading two evicted pages");

    munmap(a);
    munmap(b);
    expect_all_frames_free("after both munmaps");
    expect_file_contents(a_path, lorem, size, "map a's file after munmap");
    expect_file_pattern(b_path, B_PAGES, 5);
    free(lorem);
}

/*
 * munmap cannot report a failed write-back, but loses nothing: the page
 * stays dirty in the page cache, and the file's next mapping writes it.
 */
static void test_munmap_whose_write_back_fails_leaves_the_page_to_the_next_map(
    void) {
    char path[PATH_MAX];
    unsigned char *lorem;
    size_t size;
    struct rlimit old_limit;
    mmap *map;

    copy_fixture("lorem.txt", path);
    lorem = load_file(path, &size);
    map = mmap_create(path);
    expect_not_null(map, "mmap_create");
    expect_size(mmap_write(map, "SAVED", 2 * PAGE_SIZE, 5), 5, "mmap_write");
    limit_file_size(PAGE_SIZE, &old_limit);
    munmap(map); /* its write-back of page 2 fails with EFBIG */
    restore_file_size_limit(&old_limit);
    expect_file_contents(path, lorem, size, "the file after the failure");
    map = mmap_create(path);
    expect_not_null(map, "mmap_create again");
    munmap(map);
    memcpy(lorem + 2 * PAGE_SIZE, "SAVED", 5);
    expect_file_contents(path, lorem, size,
                         "the file once the next mapping is unmapped");
    free(lorem);
}

static const test_case mmap_tests[] = {
    /* mmap.h: creating */
    TEST(mmap_create_is_lazy_no_fault_before_access),
    TEST(mmap_segment_spans_whole_pages_from_the_mmap_start),
    TEST(mmap_fields_hold_mmu_stream_and_file_length),
    TEST(mmap_create_with_null_path_fails_with_einval),
    TEST(mmap_create_of_a_missing_file_fails_with_enoent),
    TEST(mmap_create_of_a_directory_fails_with_eisdir),
    TEST(mmap_create_of_a_fifo_fails_with_enodev_without_blocking),
    TEST(mmap_create_of_a_fifo_leaves_a_writer_waiting_on_it_waiting),
    TEST(mmap_create_of_a_character_device_fails_with_enodev),
    TEST(mmap_create_of_an_unreadable_file_fails_with_eacces),
    TEST(empty_file_maps_with_length_0_and_reads_0),
    TEST(read_only_file_maps_read_only_and_write_is_eacces),
    TEST(read_only_mapping_refuses_every_write_even_empty_or_past_the_end),
    TEST(one_gib_sparse_file_maps_and_its_last_page_is_written_back),
    TEST(file_filling_the_whole_mmap_region_maps),
    TEST(file_larger_than_the_mmap_region_fails_with_enomem),
    /* mmap.h: reading and writing */
    TEST(mmap_read_of_whole_file_equals_the_file),
    TEST(mmap_read_is_clipped_at_length),
    TEST(mmap_read_goes_through_the_mmu_tlb_and_fault_counters),
    TEST(mmu_read_at_the_mapping_address_returns_the_file_bytes),
    TEST(mmu_write_is_seen_by_mmap_read_and_written_back),
    TEST(vm_mprotect_read_only_refuses_mmap_write_while_writable_stays_true),
    TEST(mmap_write_reaches_the_file_at_munmap),
    TEST(mmap_write_does_not_reach_the_file_before_munmap_or_sync),
    TEST(mmap_sync_writes_dirty_pages_and_leaves_them_clean),
    TEST(munmap_after_sync_does_not_write_a_clean_page_again),
    TEST(munmap_writes_only_dirty_pages_so_clean_changes_survive),
    TEST(mmap_write_at_the_end_is_clipped_and_the_file_never_grows),
    TEST(bytes_past_eof_in_the_last_page_read_as_zero_through_mmu),
    TEST(mmu_write_past_eof_in_the_last_page_never_grows_the_file),
    TEST(mmap_offset_at_or_past_the_end_gives_0),
    TEST(mmap_offset_plus_count_overflow_is_clipped),
    TEST(mmap_read_and_write_with_null_map_or_buffer_are_einval),
    TEST(mmap_sync_of_null_is_einval_and_munmap_of_null_is_a_no_op),
    TEST(munmap_returns_every_frame_to_the_pool),
    TEST(munmap_whose_write_back_fails_leaves_the_page_to_the_next_map),
    TEST(munmap_closes_the_file_and_failed_creates_leave_none_open),
    /* munmap.c: one munmap for the lab's calls and the host's */
    TEST(host_munmap_from_a_file_without_mmap_h_unmaps_the_range_it_names),
    TEST(host_munmap_from_a_file_without_mmap_h_refuses_what_the_host_refuses),
    TEST(host_munmap_from_a_shared_library_is_the_programs_and_unmaps),
    TEST(a_mapping_handed_to_munmap_by_a_shared_library_is_ended),
    TEST(munmap_of_a_mapping_already_unmapped_frees_nothing_and_sets_einval),
    TEST(munmap_of_a_struct_mmap_create_did_not_return_leaves_it_untouched),
    /* mmap.h: memory pressure and several maps */
    TEST(file_many_times_the_pool_is_written_and_read_back_right),
    TEST(evicted_dirty_page_is_written_back_before_munmap),
    TEST(evicted_clean_page_is_not_written_back),
    TEST(rereading_a_file_larger_than_the_pool_faults_pages_back),
    TEST(random_reads_and_writes_under_pressure_match_a_model),
    TEST(two_maps_of_different_files_are_independent),
    TEST(two_maps_of_the_same_file_write_back_only_their_own_pages),
    TEST(two_maps_of_the_same_file_share_their_pages),
    TEST(eviction_by_one_map_takes_another_maps_page_and_data_lives),
};

const test_suite mmap_suite = {"mmap", mmap_tests,
                               sizeof mmap_tests / sizeof mmap_tests[0]};
