/*
 * tests/cxx_driver.cpp: a C++ program using the library as it is, built
 * and run by `make cxx-check` from the repository root. It includes mmap.h
 * and vm.h, maps a copy of test_files/lorem.txt with mmap_create, reads
 * it, writes across a page boundary and checks the file after munmap; then
 * maps anonymous memory with vm_mmap and reads and writes it. Any wrong
 * result prints what was expected and what came back, and exits with 1.
 */
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <fcntl.h>
#include <unistd.h>

#include "mmap.h"
#include "vm.h"

namespace {

const char fixture[] = "test_files/lorem.txt";

std::string copy_path; // the copy to remove, however the driver ends

[[noreturn]] void fail(const std::string &what) {
    std::fprintf(stderr, "cxx_driver: %s\n", what.c_str());
    if (!copy_path.empty())
        unlink(copy_path.c_str());
    std::exit(1);
}

void expect(bool condition, const std::string &what) {
    if (!condition)
        fail(what);
}

std::string errno_text() {
    return std::string(" (errno: ") + std::strerror(errno) + ")";
}

std::string read_file(const std::string &path) {
    std::ifstream in(path.c_str(), std::ios::binary);
    if (!in)
        fail("cannot read " + path);
    return std::string(std::istreambuf_iterator<char>(in),
                       std::istreambuf_iterator<char>());
}

// A private copy of the fixture in /tmp: the driver writes through it.
std::string copy_of_fixture(const std::string &bytes) {
    char path[] = "/tmp/cxx_driver.XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0)
        fail("mkstemp" + errno_text());
    ssize_t wrote = write(fd, bytes.data(), bytes.size());
    close(fd);
    if (wrote != static_cast<ssize_t>(bytes.size()))
        fail(std::string("cannot write ") + path + errno_text());
    return path;
}

// mmap_create, mmap_read and mmap_write on a copy of the fixture; munmap
// writes the change back to the file.
void check_mmap_h(const std::string &path, std::string lorem) {
    mmap *map = mmap_create(path.c_str());
    expect(map != NULL,
           "mmap_create(" + path + ") returned NULL" + errno_text());
    expect(map->length == lorem.size(),
           "mmap->length: expected " + std::to_string(lorem.size()) + ", got " +
               std::to_string(map->length));

    std::vector<char> got(lorem.size());
    size_t n = mmap_read(map, got.data(), 0, got.size());
    expect(n == lorem.size(), "mmap_read of the whole file: expected " +
                                  std::to_string(lorem.size()) +
                                  " bytes, got " + std::to_string(n));
    expect(std::string(got.begin(), got.end()) == lorem,
           "mmap_read: the bytes differ from " + std::string(fixture));

    const std::string text = "written from C++";
    const size_t at = PAGE_SIZE - 5; // across the end of page 0
    n = mmap_write(map, text.data(), at, text.size());
    expect(n == text.size(), "mmap_write: expected " +
                                 std::to_string(text.size()) + " bytes, got " +
                                 std::to_string(n) + errno_text());
    std::vector<char> back(text.size());
    n = mmap_read(map, back.data(), at, back.size());
    expect(n == text.size() && std::string(back.begin(), back.end()) == text,
           "mmap_read after mmap_write: expected \"" + text + "\", got \"" +
               std::string(back.begin(), back.begin() + n) + "\"");
    munmap(map);

    lorem.replace(at, text.size(), text);
    expect(read_file(path) == lorem,
           "the file after munmap: expected the fixture with \"" + text +
               "\" at " + std::to_string(at));
}

// vm_mmap of two anonymous pages in process 1: zeros, then what was written.
void check_vm_h() {
    const size_t pid = 1, length = 2 * PAGE_SIZE;
    mmu *machine = mmu_create();
    expect(machine != NULL, "mmu_create returned NULL" + errno_text());
    expect(mmu_add_process(machine, pid) == 0,
           "mmu_add_process(1) failed" + errno_text());
    addr32 at = vm_mmap(machine, pid, 0, length, VM_PROT_READ | VM_PROT_WRITE,
                        VM_MAP_PRIVATE | VM_MAP_ANONYMOUS, -1, 0);
    expect(at != VM_MAP_FAILED,
           "vm_mmap of anonymous memory failed" + errno_text());

    std::vector<char> got(length, 'x');
    size_t n =
        mmu_read_from_virtual_address(machine, at, pid, got.data(), got.size());
    expect(n == length, "reading the anonymous pages: expected " +
                            std::to_string(length) + " bytes, got " +
                            std::to_string(n) + errno_text());
    for (size_t i = 0; i < length; i++)
        expect(got[i] == 0, "anonymous memory: expected zeros, got byte " +
                                std::to_string(got[i]) + " at " +
                                std::to_string(i));

    const std::string text = "anonymous, from C++";
    const addr32 where = at + PAGE_SIZE - 4; // across the pages
    n = mmu_write_to_virtual_address(machine, where, pid, text.data(),
                                     text.size());
    expect(n == text.size(), "writing the anonymous pages: expected " +
                                 std::to_string(text.size()) + " bytes, got " +
                                 std::to_string(n));
    std::vector<char> back(text.size());
    n = mmu_read_from_virtual_address(machine, where, pid, back.data(),
                                      back.size());
    expect(n == text.size() && std::string(back.begin(), back.end()) == text,
           "reading back the anonymous pages: expected \"" + text +
               "\", got \"" + std::string(back.begin(), back.begin() + n) +
               "\"");

    expect(vm_munmap(machine, pid, at, length) == 0,
           "vm_munmap failed" + errno_text());
    mmu_delete(machine);
}

} // namespace

int main() {
    std::string lorem = read_file(fixture);
    expect(lorem.size() > PAGE_SIZE,
           std::string(fixture) + " is longer than a page");
    copy_path = copy_of_fixture(lorem);
    check_mmap_h(copy_path, lorem);
    unlink(copy_path.c_str());
    copy_path.clear();
    check_vm_h();
    std::printf("cxx_driver: mmap.h and vm.h work from C++\n");
    return 0;
}
