/*
 * vma.c: a process's areas as an AVL tree keyed by start, as Linux kept
 * them before the maple tree. Every node also sums up its subtree: its
 * lowest start, its highest end, the widest free gap between two of its
 * areas, and the union of their protections. A rotation or a change only
 * ever recomputes the summaries of the nodes on one path from the root, so
 * an insert, a split, a removal or a protection costs one descent, and the
 * lowest gap that fits is found by one descent that skips every subtree
 * too narrow for it (lowest_fit). A lookup looks at the area found last
 * first, which holds most accesses.
 *
 * Each area is the first field of a node allocated by itself, so it keeps
 * its address while it lives: a removal relinks nodes, never copies one.
 * vma_reserve allocates nodes ahead onto a list of spares, so that the
 * inserts and splits it makes room for cannot fail.
 */
#include "vma.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>

typedef struct vma_node {
    vm_area area; /* first: a vm_area * of this module is its node */
    struct vma_node *left, *right; /* a spare's `left` links the spares */
    int height;                    /* of the subtree: 1 for a leaf */
    /* The subtree's summaries (summarize). */
    addr32 lowest;     /* start of its first area */
    addr32 highest;    /* end of its last area */
    addr32 widest_gap; /* between two of its areas (not before its first) */
    uint32_t prots;    /* union of its areas' protections */
} vma_node;

struct vm_areas {
    vma_node *root;
    vma_node *last_found; /* vma_find looks here first */
    vma_node *spares;     /* reserved by vma_reserve */
    size_t spare_count;
};

/* No gap fits (lowest_fit): above every address. */
#define NO_FIT UINT64_MAX

static vma_node *node_of(const vm_area *area) {
    return (vma_node *)area;
}

static int height(const vma_node *n) {
    return n ? n->height : 0;
}

static addr32 max_addr(addr32 a, addr32 b) {
    return a > b ? a : b;
}

/* Recomputes `n`'s height and summaries from its area and its children. */
static void summarize(vma_node *n) {
    const vma_node *l = n->left, *r = n->right;
    n->height = 1 + (height(l) > height(r) ? height(l) : height(r));
    n->lowest = l ? l->lowest : n->area.start;
    n->highest = r ? r->highest : n->area.end;
    n->prots = n->area.prot | (l ? l->prots : 0) | (r ? r->prots : 0);
    n->widest_gap = 0;
    if (l)
        n->widest_gap = max_addr(l->widest_gap, n->area.start - l->highest);
    if (r)
        n->widest_gap = max_addr(
            n->widest_gap, max_addr(r->widest_gap, r->lowest - n->area.end));
}

static vma_node *rotate_right(vma_node *n) {
    vma_node *l = n->left;
    n->left = l->right;
    l->right = n;
    summarize(n);
    summarize(l);
    return l;
}

static vma_node *rotate_left(vma_node *n) {
    vma_node *r = n->right;
    n->right = r->left;
    r->left = n;
    summarize(n);
    summarize(r);
    return r;
}

/*
 * Summarizes `n`, whose children are balanced and summarized and differ in
 * height by two at most, and rotates it back into balance. Returns the
 * subtree's new root.
 */
static vma_node *rebalance(vma_node *n) {
    summarize(n);
    int balance = height(n->left) - height(n->right);
    if (balance > 1) {
        if (height(n->left->left) < height(n->left->right))
            n->left = rotate_left(n->left);
        return rotate_right(n);
    }
    if (balance < -1) {
        if (height(n->right->right) < height(n->right->left))
            n->right = rotate_right(n->right);
        return rotate_left(n);
    }
    return n;
}

/*
 * Inserts the summarized leaf `leaf` under `n`. Its path passes the areas
 * just before and just after it (as any search path for a key does), so
 * a change to their ends made before is summarized on the way back up.
 */
static vma_node *insert_node(vma_node *n, vma_node *leaf) {
    if (!n)
        return leaf;
    if (leaf->area.start < n->area.start)
        n->left = insert_node(n->left, leaf);
    else
        n->right = insert_node(n->right, leaf);
    return rebalance(n);
}

/* Detaches the first node under `n` into `*first`; returns what is left. */
static vma_node *detach_first(vma_node *n, vma_node **first) {
    if (!n->left) {
        *first = n;
        return n->right;
    }
    n->left = detach_first(n->left, first);
    return rebalance(n);
}

/*
 * Unlinks the node of the area starting at `start` from under `n`; one
 * with two children gives its place to the first node after it, moved
 * whole, so that no area moves in memory.
 */
static vma_node *remove_node(vma_node *n, addr32 start) {
    assert(n); /* the area is in the tree */
    if (start < n->area.start) {
        n->left = remove_node(n->left, start);
    } else if (start > n->area.start) {
        n->right = remove_node(n->right, start);
    } else {
        if (!n->left || !n->right)
            return n->left ? n->left : n->right;
        vma_node *successor, *right = detach_first(n->right, &successor);
        successor->left = n->left;
        successor->right = right;
        n = successor;
    }
    return rebalance(n);
}

/* Summarizes again the nodes from `n` down to the area starting at `start`. */
static void resummarize_path(vma_node *n, addr32 start) {
    assert(n); /* the area is in the tree */
    if (start != n->area.start)
        resummarize_path(start < n->area.start ? n->left : n->right, start);
    summarize(n);
}

/* The first node under `n` whose area ends after `address`, or NULL. */
static vma_node *first_ending_after(vma_node *n, addr32 address) {
    vma_node *found = NULL;
    while (n) {
        if (n->area.end > address) {
            found = n;
            n = n->left;
        } else {
            n = n->right;
        }
    }
    return found;
}

vm_areas *vma_create(void) {
    vm_areas *this = calloc(1, sizeof *this);
    if (!this)
        errno = ENOMEM;
    return this;
}

static void free_subtree(vma_node *n) {
    if (!n)
        return;
    free_subtree(n->left);
    free_subtree(n->right);
    free(n);
}

void vma_delete(vm_areas *this) {
    if (!this)
        return;
    free_subtree(this->root);
    while (this->spares) {
        vma_node *spare = this->spares;
        this->spares = spare->left;
        free(spare);
    }
    free(this);
}

vm_area *vma_find(vm_areas *this, addr32 address) {
    vma_node *last = this->last_found;
    if (last && address - last->area.start < last->area.end - last->area.start)
        return &last->area;
    vma_node *n = first_ending_after(this->root, address);
    if (!n || n->area.start > address)
        return NULL;
    this->last_found = n;
    return &n->area;
}

vm_area *vma_first_ending_after(const vm_areas *this, addr32 address) {
    vma_node *n = first_ending_after(this->root, address);
    return n ? &n->area : NULL;
}

vm_area *vma_next(const vm_areas *this, const vm_area *area) {
    /* Areas never overlap: the next one is the first to end after it. */
    return vma_first_ending_after(this, area->end);
}

int vma_check(vm_areas *this, addr32 start, uint64_t end, uint32_t permission,
              addr32 *stop) {
    /* Most accesses lie in one area, the one vma_find remembers. */
    const vm_area *area = vma_find(this, start);
    uint64_t at = start;
    while (at < end) {
        if (!area || area->start > at) {
            *stop = (addr32)at;
            return EFAULT;
        }
        if (!(area->prot & permission)) {
            *stop = (addr32)at;
            return EACCES;
        }
        at = area->end;
        if (at < end)
            area = vma_next(this, area);
    }
    return 0;
}

bool vma_range_free(const vm_areas *this, addr32 start, uint64_t end) {
    const vm_area *area = vma_first_ending_after(this, start);
    return !area || area->start >= end;
}

bool vma_range_mapped(const vm_areas *this, addr32 start, uint64_t end) {
    const vm_area *area = vma_first_ending_after(this, start);
    uint64_t at = start;
    while (at < end) {
        if (!area || area->start > at)
            return false;
        at = area->end;
        if (at < end)
            area = vma_next(this, area);
    }
    return true;
}

/*
 * Whether no gap of `bytes` at or above `low` can lie before an area of
 * the subtree `n`, whose first area follows free space from `free_from`.
 * Never wrong, and exact for a subtree wholly at or above `low` (its gaps
 * are whole there, but the first): only the subtrees on the path towards
 * `low` may be looked into in vain.
 */
static bool no_fit_under(const vma_node *n, addr32 free_from, addr32 low,
                         uint64_t bytes) {
    if (n->highest <= low) /* every gap here ends below low */
        return true;
    return (uint64_t)max_addr(free_from, low) + bytes > n->lowest &&
           n->widest_gap < bytes;
}

/*
 * The lowest address at or above `low` with `bytes` free before the next
 * area, among the gaps before the areas of the subtree `n` (its first area
 * follows free space from `free_from`), or NO_FIT. Visits one path towards
 * `low`, and descends into one subtree wholly above it whose gaps fit.
 */
static uint64_t lowest_fit(const vma_node *n, addr32 free_from, addr32 low,
                           uint64_t bytes) {
    if (!n || no_fit_under(n, free_from, low, bytes))
        return NO_FIT;
    uint64_t at = lowest_fit(n->left, free_from, low, bytes);
    if (at != NO_FIT)
        return at;
    at = max_addr(n->left ? n->left->highest : free_from, low);
    if (at + bytes <= n->area.start)
        return at;
    return lowest_fit(n->right, n->area.end, low, bytes);
}

addr32 vma_lowest_gap(const vm_areas *this, addr32 low, uint64_t high,
                      uint64_t bytes) {
    uint64_t at = lowest_fit(this->root, 0, low, bytes);
    if (at == NO_FIT) /* after the last area */
        at = max_addr(low, vma_highest_end(this, 0));
    /* The gaps found go up: if the lowest ends past `high`, all do. */
    return at + bytes <= high ? (addr32)at : 0;
}

int vma_reserve(vm_areas *this, size_t more) {
    while (this->spare_count < more) {
        vma_node *spare = malloc(sizeof *spare);
        if (!spare) {
            errno = ENOMEM;
            return -1;
        }
        spare->left = this->spares;
        this->spares = spare;
        this->spare_count++;
    }
    return 0;
}

/* A reserved node made a summarized leaf holding `area`. */
static vma_node *new_leaf(vm_areas *this, const vm_area *area) {
    vma_node *leaf = this->spares;
    assert(leaf); /* vma_reserve made room */
    this->spares = leaf->left;
    this->spare_count--;
    *leaf = (vma_node){.area = *area};
    summarize(leaf);
    return leaf;
}

vm_area *vma_insert(vm_areas *this, const vm_area *area) {
    assert(area->start < area->end &&
           vma_range_free(this, area->start, area->end));
    vma_node *leaf = new_leaf(this, area);
    this->root = insert_node(this->root, leaf);
    return &leaf->area;
}

vm_area *vma_split(vm_areas *this, addr32 address) {
    vma_node *first = first_ending_after(this->root, address);
    if (!first || first->area.start >= address)
        return NULL;
    vma_node *second = new_leaf(this, &first->area);
    uint64_t pages = (address - first->area.start) / PAGE_SIZE;
    first->area.end = address; /* summarized as `second` goes in */
    second->area.start = address;
    second->area.first_page += pages;
    summarize(second);
    this->root = insert_node(this->root, second);
    return &second->area;
}

vm_area *vma_remove(vm_areas *this, vm_area *area) {
    vm_area *next = vma_next(this, area);
    vma_node *n = node_of(area);
    this->root = remove_node(this->root, area->start);
    if (this->last_found == n)
        this->last_found = NULL;
    free(n);
    return next;
}

void vma_protect(vm_areas *this, vm_area *area, uint32_t prot) {
    area->prot = prot;
    resummarize_path(this->root, area->start);
}

addr32 vma_highest_end(const vm_areas *this, addr32 otherwise) {
    return this->root ? this->root->highest : otherwise;
}

uint32_t vma_all_prot(const vm_areas *this) {
    return this->root ? this->root->prots : 0;
}

/*
 * The height of the subtree `n`, whose areas must lie in [from, to), or
 * -1 when it or its summaries do not hold together.
 */
static int valid_height(const vma_node *n, uint64_t from, uint64_t to) {
    if (!n)
        return 0;
    const vm_area *a = &n->area;
    if (a->start < from || a->end > to || a->start >= a->end ||
        PAGE_OFFSET(a->start) || PAGE_OFFSET(a->end))
        return -1;
    int l = valid_height(n->left, from, a->start);
    int r = valid_height(n->right, a->end, to);
    if (l < 0 || r < 0 || l - r > 1 || r - l > 1)
        return -1;
    vma_node again = *n;
    summarize(&again);
    if (again.height != n->height || again.lowest != n->lowest ||
        again.highest != n->highest || again.widest_gap != n->widest_gap ||
        again.prots != n->prots)
        return -1;
    return n->height;
}

bool vma_valid(const vm_areas *this) {
    return valid_height(this->root, 0, ADDRESS_SPACE_END) >= 0;
}
