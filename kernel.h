/*
 * kernel.h: the simulated physical memory, a pool of page frames.
 *
 * The pool is kernel_frames_total() frames of host memory, reserved on
 * first use and backed by the host only as frames are handed out, so it
 * costs what is used of it. Its size is read from the environment variable
 * MMAP_FRAMES then: a whole number in decimal digits, clamped to
 * [KERNEL_MIN_FRAMES, KERNEL_MAX_FRAMES]; unset or empty means
 * KERNEL_DEFAULT_FRAMES, and anything else ("8k", "-5") makes every call
 * that needs the pool fail with EINVAL until it is fixed. A simulated
 * physical address is a frame number shifted left by NUM_OFFSET_BITS; frame
 * numbers start at 1 so that physical address 0 is never a frame. Host
 * pointers never leave the pool as addresses, so the pool may lie anywhere
 * in the host's address space.
 *
 * Every frame in use has an owner record. A pinned frame (a page being
 * filled, or a page with no store to go back to) has none and is never
 * taken back. A frame with an owner may be evicted when the pool runs dry:
 * a replacement policy (policy.h) picks the victim, by default a
 * second-chance clock that asks the owner whether the page was referenced,
 * and the pool then asks the owner to give the frame up; the pool itself
 * never does I/O. The policy is read from MMAP_POLICY at first use (a name
 * of kernel_policy_name: clock, fifo, lru, random, nru; unset or empty
 * means clock; anything else, and opt outside a replay, makes every call
 * that needs the pool fail with EINVAL, as a bad MMAP_FRAMES does), or set
 * with kernel_set_policy. Not thread-safe.
 */
#ifndef KERNEL_H
#define KERNEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "types.h"

#ifdef __cplusplus
extern "C" {
#endif

#define KERNEL_DEFAULT_FRAMES 4096
#define KERNEL_MIN_FRAMES 8
/* Frame numbers must fit a page-table entry's 20-bit base_addr. */
#define KERNEL_MAX_FRAMES ((1u << (32 - NUM_OFFSET_BITS)) - 1)

typedef struct frame_owner frame_owner;

/* What the pool may ask of the owner of an evictable frame. */
typedef struct {
    /*
     * Second chance: returns whether the page `key` was used since the
     * last call, and forgets that it was.
     */
    bool (*referenced)(frame_owner *owner, uint32_t key);
    /*
     * Gives up the frame holding page `key`: saves its contents if they
     * must survive, and unmaps it everywhere. Returns 0, after which the
     * pool reuses the frame, or -1 with errno to keep it (a failed
     * write-back); the pool then looks for another victim.
     */
    int (*evict)(frame_owner *owner, uint32_t key);
    /*
     * Optional (NULL: never dirty). Whether page `key` holds changes its
     * store lacks, so that evicting it would write it back; changes
     * nothing. The nru policy sorts victims by it.
     */
    bool (*dirty)(frame_owner *owner, uint32_t key);
    /*
     * Optional (NULL: never busy). Whether the frame of `key` cannot be
     * given up now, whatever the policy would choose (a page table whose
     * entries still hold pages): policies other than the clock, which asks
     * `referenced` instead, pass over a busy frame. Changes nothing.
     */
    bool (*busy)(frame_owner *owner, uint32_t key);
} frame_owner_ops;

/* Embed this in whatever owns frames; `key` names the page within it. */
struct frame_owner {
    const frame_owner_ops *ops;
};

/*
 * Takes a frame from the pool for page `key` of `owner` (NULL: pinned) and
 * returns its physical address. Its contents are undefined: the caller
 * fills it. When no frame is free, one is evicted. Returns 0 with errno
 * ENOMEM when every frame is pinned or the pool cannot be reserved, EINVAL
 * when MMAP_FRAMES is not a whole number, or the owners' errno when no
 * victim could be written back. A frame returned leaves errno as it was,
 * even when victims refused before one gave its frame up.
 */
addr32 ask_kernel_for_frame(frame_owner *owner, uint32_t key);

/*
 * Hands the frame at `physical_address`, which must be in use, to page
 * `key` of `owner` (NULL: pins it). A frame being filled is taken pinned
 * and handed over once full, so that the clock cannot evict it half-read,
 * as a kernel locks a page under I/O.
 */
void kernel_set_frame_owner(addr32 physical_address, frame_owner *owner,
                            uint32_t key);

/*
 * Gives the frame at `physical_address` back to the pool. Address 0 is
 * ignored. The frame must be in use (checked by assert).
 */
void return_frame_to_kernel(addr32 physical_address);

/*
 * Returns the host pointer to the byte at `physical_address`, or NULL for
 * address 0 or an address outside the pool.
 */
void *get_system_pointer_from_address(addr32 physical_address);

/*
 * The pool's host memory: frame n lives at kernel_pool_memory + (n - 1) *
 * PAGE_SIZE. NULL until the pool is set up; only kernel.c sets it. It is
 * here for kernel_frame_memory, as a kernel keeps the base of its direct
 * map of physical memory where every module can add to it.
 */
extern char *kernel_pool_memory;

/*
 * get_system_pointer_from_address without its checks, inline, for the
 * access path, which turns a physical address into a host pointer on
 * every access: `physical_address` must lie in a frame in use.
 */
static inline void *kernel_frame_memory(addr32 physical_address) {
    return kernel_pool_memory + ((size_t)physical_address - PAGE_SIZE);
}

/*
 * The inverse: returns the physical address of the pool byte at
 * `system_pointer`, or 0 for a pointer outside the pool.
 */
addr32 get_address_from_system_pointer(const void *system_pointer);

/*
 * The number of frames in the pool, setting it up on first use. Returns 0
 * with errno EINVAL (MMAP_FRAMES is not a whole number) or ENOMEM (the host
 * cannot reserve that much address space) when it cannot be set up.
 */
size_t kernel_frames_total(void);

/*
 * The number of frames reserved for the pool, which kernel_set_frames may
 * not exceed once the pool is set up: tables indexed by frame number are
 * sized by it. 0 with errno as kernel_frames_total when it cannot be set up.
 */
size_t kernel_frames_capacity(void);

/*
 * Sets the number of frames in the pool, for a program that runs several
 * machines one after another (a replay per pool size, a scenario's
 * `frames N`). Before the pool's first use it replaces MMAP_FRAMES, and
 * becomes the capacity too. Afterwards it needs every frame free (no MMU
 * holds one, no page cache page is left) and `frames` at most the
 * capacity; the pool then starts again as if new, and so does its policy
 * (the clock's hand at frame 1). Unlike MMAP_FRAMES it is not clamped to
 * KERNEL_MIN_FRAMES: a replay of a textbook trace may want three frames. Returns 0, or -1 with errno
 * EINVAL (0 frames, more than the capacity or than KERNEL_MAX_FRAMES) or
 * EBUSY (a frame is in use).
 */
int kernel_set_frames(size_t frames);

/* The number of frames not in use; 0 when the pool cannot be set up. */
size_t kernel_frames_free(void);

/* The replacement policies (policy.h says what each does). */
typedef enum {
    KERNEL_POLICY_CLOCK, /* second chance: the default */
    KERNEL_POLICY_FIFO,
    KERNEL_POLICY_LRU,
    KERNEL_POLICY_RANDOM, /* seeded by MMAP_POLICY_SEED (default 1) */
    KERNEL_POLICY_NRU,    /* the enhanced clock: referenced and dirty */
    KERNEL_POLICY_OPT,    /* Belady's: needs kernel_set_future */
    KERNEL_POLICY_COUNT
} kernel_policy;

/* "clock", "fifo", "lru", "random", "nru", "opt"; NULL out of range. */
const char *kernel_policy_name(kernel_policy policy);

/*
 * The policy named `name` (as kernel_policy_name spells it), or -1 with
 * errno EINVAL for any other name.
 */
int kernel_policy_from_name(const char *name);

/*
 * Selects the replacement policy. Before the pool's first use it replaces
 * MMAP_POLICY; afterwards it needs every frame free or pinned (a policy
 * keeps records only of frames with owners: a replay's page tables,
 * pinned, may stay), and the policy starts from its beginning (the
 * clock's hand at frame 1, the random policy's seed). Returns 0, or -1
 * with errno EINVAL (no such policy, or opt with no future registered) or
 * EBUSY (a frame has an owner), or the errors of setting the pool up.
 */
int kernel_set_policy(kernel_policy policy);

/*
 * The policy in force, reading MMAP_POLICY at the first call if no call
 * chose one; -1 with errno EINVAL when MMAP_POLICY names none.
 */
int kernel_current_policy(void);

/*
 * The future, for the opt policy: next_use(context, frame) returns when
 * the page in frame number `frame` is next used (a position in the
 * caller's trace; SIZE_MAX: never again). Only a replay, which knows its
 * trace ahead of time, can give one.
 */
typedef struct {
    size_t (*next_use)(void *context, size_t frame);
    void *context;
} kernel_future;

/*
 * Registers `future` (copied; NULL removes it), which opt asks at each
 * eviction. Removing it while opt is in force puts the clock back, so
 * that the pool never runs a policy it cannot serve.
 */
void kernel_set_future(const kernel_future *future);

/*
 * Writes into `text` (`size` bytes, NUL-terminated, cut to fit) what the
 * policy in force knows of frame number `frame` ("hand", "loaded 12",
 * "used 40", ...): its stated reasons, for a replay's steps. Returns the
 * length it wanted, as snprintf; "" for a policy with nothing to say.
 */
size_t kernel_policy_describe(size_t frame, char *text, size_t size);

/*
 * Whether the policy in force wants each access noted (lru does); the MMU
 * tests it on every access, a branch that costs nothing when it is false.
 */
extern bool kernel_notes_accesses;

/* Notes an access of the frame at `physical_address` for the policy. */
void kernel_note_access(addr32 physical_address);

#ifdef __cplusplus
}
#endif

#endif
