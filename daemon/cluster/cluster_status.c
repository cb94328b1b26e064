/* daemon/cluster/cluster_status.c: what the cluster module shows: /v1/ring
 * (the view as JSON, for `shoal ring`) and its /metrics lines.
 *
 * Ownership shares are measured, not derived: SHARE_SAMPLES keys spread
 * over the id space are placed on the current ring, and each member's
 * share is the fraction it owns as primary and as one of the
 * cluster.replication owners. */
#include "daemon/cluster/cluster_int.h"
#include "daemon/metrics.h"
#include "daemon/xalloc.h"

#include <event2/buffer.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SHARE_SAMPLES 8192

/* a JSON string: quotes, backslashes, control and non-ASCII bytes escaped
 * (names come from gossip: anything a member says of itself) */
void cluster_json_str(struct evbuffer *o, const char *s)
{
    evbuffer_add(o, "\"", 1);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            evbuffer_add_printf(o, "\\%c", *p);
        else if (*p < 0x20 || *p >= 0x7f)
            evbuffer_add_printf(o, "\\u%04x", *p);
        else
            evbuffer_add(o, p, 1);
    }
    evbuffer_add(o, "\"", 1);
}

static void sample_key(uint32_t i, uint8_t key[RING_ID_LEN])
{
    uint64_t s = (uint64_t)i * 0x9E3779B97F4A7C15ULL, a, b;
    a = s ^ (s >> 31);
    a *= 0xBF58476D1CE4E5B9ULL;
    b = a ^ (a >> 29);
    b *= 0x94D049BB133111EBULL;
    memcpy(key, &a, 8);
    memcpy(key + 8, &b, 8);
}

/* primary and replica counts per placed member of R (indexes of R) */
static void shares(const struct ring *r, unsigned nrep, uint32_t *primary, uint32_t *any)
{
    uint32_t owners[RING_REPLICAS_MAX];
    uint8_t key[RING_ID_LEN];

    for (uint32_t i = 0; i < SHARE_SAMPLES; i++) {
        sample_key(i, key);
        size_t n = ring_owners(r, key, nrep, owners);
        if (n)
            primary[owners[0]]++;
        for (size_t k = 0; k < n; k++)
            any[owners[k]]++;
    }
}

static int ring_index(const struct ring *r, const uint8_t id[RING_ID_LEN])
{
    for (size_t i = 0; r && i < ring_size(r); i++)
        if (memcmp(ring_member_at(r, i)->id, id, RING_ID_LEN) == 0)
            return (int)i;
    return -1;
}

void cluster_ring_json(struct cluster *c, struct evbuffer *o)
{
    const struct ring *r = cluster_ring(c);
    size_t np = r ? ring_size(r) : 0, n = ring_swim_count(c->sw);
    uint32_t *primary = shd_xcalloc(np + 1, sizeof(*primary));
    uint32_t *any = shd_xcalloc(np + 1, sizeof(*any));
    uint64_t now = cluster_now_ms();
    char id[2 * RING_ID_LEN + 1], addr[64];
    unsigned nrep = c->cfg->cluster.replication;

    if (np)
        shares(r, nrep, primary, any);
    ring_id_hex(c->self.id, id);
    evbuffer_add_printf(o, "{\"cluster\":");
    cluster_json_str(o, c->cfg->cluster.name);
    evbuffer_add_printf(o,
                        ",\"node\":\"%s\",\"epoch\":\"%016llx\",\"replication\":%u,\"placed\":%zu,"
                        "\"health\":%u,\"members\":[",
                        id, (unsigned long long)(r ? ring_epoch(r) : 0), nrep, np,
                        ring_swim_health(c->sw));
    for (size_t i = 0; i < n; i++) {
        const struct ring_swim_member *m = ring_swim_member_at(c->sw, i);
        int ri = r ? ring_index(r, m->info->id) : -1;
        ring_id_hex(m->info->id, id);
        ring_addr_format(&m->info->addr, addr, sizeof(addr));
        evbuffer_add_printf(o, "%s{\"id\":\"%s\",\"name\":", i ? "," : "", id);
        cluster_json_str(o, m->info->name);
        evbuffer_add_printf(o, ",\"zone\":");
        cluster_json_str(o, m->info->zone);
        evbuffer_add_printf(
            o,
            ",\"state\":\"%s\",\"self\":%s,\"incarnation\":%llu,\"weight\":%u,\"addr\":\"%s\","
            "\"s3_port\":%u,\"admin_port\":%u,\"since_ms\":%llu,\"heard_ms\":%lld,"
            "\"bytes\":%llu,\"blocks\":%llu,\"share_primary\":%.4f,\"share_replicas\":%.4f}",
            ring_state_name(m->state), i == 0 ? "true" : "false",
            (unsigned long long)m->incarnation, m->info->weight, addr, m->info->s3_port,
            m->info->admin_port, (unsigned long long)(now - m->since_ms),
            i == 0        ? 0LL
            : m->heard_ms ? (long long)(now - m->heard_ms)
                          : -1LL,
            (unsigned long long)m->load.bytes, (unsigned long long)m->load.blocks,
            ri >= 0 ? (double)primary[ri] / SHARE_SAMPLES : 0.0,
            ri >= 0 ? (double)any[ri] / SHARE_SAMPLES : 0.0);
    }
    evbuffer_add_printf(o, "]}\n");
    free(primary);
    free(any);
}

void cluster_metrics(struct evbuffer *o, void *arg)
{
    struct cluster *c = arg;
    struct ring_swim_stats s;
    const struct cluster_stats *t = &c->st;
    static const enum ring_state states[] = {RING_ALIVE, RING_SUSPECT, RING_LEAVING, RING_DEAD,
                                             RING_LEFT};

    ring_swim_stats_get(c->sw, &s);
    evbuffer_add_printf(o, "# HELP shoal_cluster_members Members this node knows, by state.\n"
                           "# TYPE shoal_cluster_members gauge\n");
    for (size_t i = 0; i < sizeof(states) / sizeof(states[0]); i++)
        evbuffer_add_printf(o, "shoal_cluster_members{state=\"%s\"} %zu\n",
                            ring_state_name(states[i]), ring_swim_count_state(c->sw, states[i]));
    evbuffer_add_printf(
        o,
        "# HELP shoal_gossip_health Local health (Lifeguard): 0 is healthy; higher stretches "
        "this node's own probe timeouts.\n# TYPE shoal_gossip_health gauge\n"
        "shoal_gossip_health %u\n"
        "# HELP shoal_gossip_probes_total Probes sent.\n"
        "# TYPE shoal_gossip_probes_total counter\nshoal_gossip_probes_total %llu\n"
        "# HELP shoal_gossip_probes_failed_total Probes no ack answered, direct or "
        "indirect.\n# TYPE shoal_gossip_probes_failed_total counter\n"
        "shoal_gossip_probes_failed_total %llu\n"
        "# HELP shoal_gossip_indirect_probes_total Indirect probes asked of others, and served "
        "for them.\n# TYPE shoal_gossip_indirect_probes_total counter\n"
        "shoal_gossip_indirect_probes_total{role=\"asked\"} %llu\n"
        "shoal_gossip_indirect_probes_total{role=\"served\"} %llu\n"
        "# HELP shoal_gossip_suspicions_total Members suspected.\n"
        "# TYPE shoal_gossip_suspicions_total counter\nshoal_gossip_suspicions_total %llu\n"
        "# HELP shoal_gossip_refutations_total Suspicions of this node it refuted.\n"
        "# TYPE shoal_gossip_refutations_total counter\nshoal_gossip_refutations_total %llu\n"
        "# HELP shoal_gossip_deaths_total Members this node declared dead.\n"
        "# TYPE shoal_gossip_deaths_total counter\nshoal_gossip_deaths_total %llu\n"
        "# HELP shoal_gossip_conflicts_total Name or id conflicts seen.\n"
        "# TYPE shoal_gossip_conflicts_total counter\nshoal_gossip_conflicts_total %llu\n"
        "# HELP shoal_gossip_packets_total Gossip datagrams.\n"
        "# TYPE shoal_gossip_packets_total counter\n"
        "shoal_gossip_packets_total{dir=\"in\"} %llu\nshoal_gossip_packets_total{dir=\"out\"} "
        "%llu\n"
        "# HELP shoal_gossip_bytes_total Gossip bytes (sealed; datagrams and push-pull).\n"
        "# TYPE shoal_gossip_bytes_total counter\n"
        "shoal_gossip_bytes_total{dir=\"in\",kind=\"datagram\"} %llu\n"
        "shoal_gossip_bytes_total{dir=\"out\",kind=\"datagram\"} %llu\n"
        "shoal_gossip_bytes_total{dir=\"in\",kind=\"pushpull\"} %llu\n"
        "shoal_gossip_bytes_total{dir=\"out\",kind=\"pushpull\"} %llu\n"
        "# HELP shoal_gossip_pushpulls_total Full-state exchanges served and started.\n"
        "# TYPE shoal_gossip_pushpulls_total counter\n"
        "shoal_gossip_pushpulls_total{role=\"served\"} %llu\n"
        "shoal_gossip_pushpulls_total{role=\"started\"} %llu\n"
        "# HELP shoal_gossip_pushpulls_failed_total Full-state exchanges that did not "
        "complete.\n# TYPE shoal_gossip_pushpulls_failed_total counter\n"
        "shoal_gossip_pushpulls_failed_total %llu\n"
        "# HELP shoal_gossip_pushpulls_refused_total Full-state exchanges refused: too many "
        "at once.\n# TYPE shoal_gossip_pushpulls_refused_total counter\n"
        "shoal_gossip_pushpulls_refused_total %llu\n"
        "# HELP shoal_gossip_send_errors_total Datagrams that could not be sent.\n"
        "# TYPE shoal_gossip_send_errors_total counter\nshoal_gossip_send_errors_total %llu\n"
        "# HELP shoal_ring_rebuilds_total Rings built from the view.\n"
        "# TYPE shoal_ring_rebuilds_total counter\nshoal_ring_rebuilds_total %llu\n"
        "# HELP shoal_gossip_dropped_total Gossip messages dropped, by reason.\n"
        "# TYPE shoal_gossip_dropped_total counter\n",
        ring_swim_health(c->sw), (unsigned long long)s.probes, (unsigned long long)s.probes_failed,
        (unsigned long long)s.indirect_probes, (unsigned long long)s.indirect_served,
        (unsigned long long)s.suspicions, (unsigned long long)s.refutations,
        (unsigned long long)s.deaths, (unsigned long long)s.conflicts,
        (unsigned long long)t->dgrams_in, (unsigned long long)t->dgrams_out,
        (unsigned long long)t->dgram_bytes_in, (unsigned long long)t->dgram_bytes_out,
        (unsigned long long)t->stream_bytes_in, (unsigned long long)t->stream_bytes_out,
        (unsigned long long)t->streams_in, (unsigned long long)t->streams_out,
        (unsigned long long)t->stream_failures, (unsigned long long)t->streams_refused,
        (unsigned long long)t->send_errors, (unsigned long long)t->ring_rebuilds);
    for (int d = 1; d < CLUSTER_DROP_COUNT; d++)
        evbuffer_add_printf(o, "shoal_gossip_dropped_total{reason=\"%s\"} %llu\n",
                            cluster_drop_name((enum cluster_drop)d),
                            (unsigned long long)t->drops[d]);
}
