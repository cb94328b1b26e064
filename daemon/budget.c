/* daemon/budget.c: the request memory budget (see budget.h). */
#include "daemon/budget.h"

static const char *use_names[SHD_MEM_USES] = {"fill", "writer", "stage", "body", "pinned"};

const char *shd_mem_use_name(enum shd_mem_use use)
{
    return use < SHD_MEM_USES ? use_names[use] : "?";
}

void shd_budget_init(struct shd_budget *b, uint64_t limit)
{
    b->limit = limit;
    atomic_init(&b->used, 0);
    for (int i = 0; i < SHD_MEM_USES; i++) {
        atomic_init(&b->held[i], 0);
        atomic_init(&b->refused[i], 0);
    }
}

/* take: adds n unless the total would pass cap. */
static int take(struct shd_budget *b, enum shd_mem_use use, uint64_t n, uint64_t cap)
{
    uint64_t cur = atomic_load_explicit(&b->used, memory_order_relaxed);
    do {
        if (n > cap || cur > cap - n) {
            atomic_fetch_add_explicit(&b->refused[use], 1, memory_order_relaxed);
            return -1;
        }
    } while (!atomic_compare_exchange_weak_explicit(&b->used, &cur, cur + n, memory_order_relaxed,
                                                    memory_order_relaxed));
    atomic_fetch_add_explicit(&b->held[use], n, memory_order_relaxed);
    return 0;
}

int shd_budget_take(struct shd_budget *b, enum shd_mem_use use, uint64_t n)
{
    return take(b, use, n, b->limit);
}

int shd_budget_take_spare(struct shd_budget *b, enum shd_mem_use use, uint64_t n)
{
    return take(b, use, n, b->limit / 2);
}

void shd_budget_force(struct shd_budget *b, enum shd_mem_use use, uint64_t n)
{
    atomic_fetch_add_explicit(&b->used, n, memory_order_relaxed);
    atomic_fetch_add_explicit(&b->held[use], n, memory_order_relaxed);
}

void shd_budget_give(struct shd_budget *b, enum shd_mem_use use, uint64_t n)
{
    if (!n)
        return;
    atomic_fetch_sub_explicit(&b->held[use], n, memory_order_relaxed);
    atomic_fetch_sub_explicit(&b->used, n, memory_order_relaxed);
}
