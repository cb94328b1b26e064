/* client/cli.h: what the `shoal` command's files share. */
#ifndef SHOAL_CLI_H
#define SHOAL_CLI_H

#include <stddef.h>
#include <stdint.h>

enum { CLI_EXIT_OK = 0, CLI_EXIT_FAIL = 1, CLI_EXIT_USAGE = 2 };

struct cli_opts {
    const char *seeds; /* --seeds or $SHOAL_SEEDS; NULL when neither */
    int json;          /* --json */
    /* the cluster client's: --cluster ($SHOAL_CLUSTER), --key-file
     * ($SHOAL_KEY_FILE), --block-size ($SHOAL_BLOCK_SIZE), --replication
     * ($SHOAL_REPLICATION); NULL: the library's defaults */
    const char *cluster, *key_file, *block_size, *replication;
};

/* Prints "shoal CMD: <message>" and a hint to stderr; returns 2. */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* S as a decimal integer in LO..HI into *OUT; 0 or -1. */
int cli_parse_u64(const char *s, uint64_t lo, uint64_t hi, uint64_t *out);

/* `shoal ring simulate --gossip` (client/cli_gossip_sim.c). */
int cli_gossip_simulate(const struct cli_opts *o, int argc, char **argv);

/* `shoal ring simulate`: argv[0] is "simulate". Returns an exit code. */
int cli_ring_simulate(const struct cli_opts *o, int argc, char **argv);

/* `shoal ring`: argv[0] is "ring". Returns an exit code. */
int cli_ring(const struct cli_opts *o, int argc, char **argv);

/* `shoal stat`, `shoal get` (client/cli_get.c): argv[0] is the command.
 * Return an exit code. */
int cli_stat(const struct cli_opts *o, int argc, char **argv);
int cli_get(const struct cli_opts *o, int argc, char **argv);

/* client/cli_get.c, for the cluster commands: "BUCKET/KEY" into its parts
 * (BUF holds them): 0 or -1; "BUCKET[/PREFIX]" into BUF (the bucket) and
 * *PREFIX ("" without one): 0 or -1; the cluster client from the global
 * options: 0 and *SH, or an exit code (the reason printed); S as a JSON
 * string on stdout; the start of a JSON object with BUCKET, KEY and ST's
 * size and ETag (the caller adds fields and the closing brace). */
struct shoal;
struct shoal_object;
int cli_split(const char *arg, char *buf, size_t len, const char **bucket, const char **key);
int cli_split_prefix(const char *arg, char *buf, size_t len, const char **prefix);
int cli_open_cluster(const struct cli_opts *o, const char *cmd, struct shoal **sh);
void cli_json_str(const char *s);
void cli_json_object(const char *bucket, const char *key, const struct shoal_object *st);

/* `shoal put`, `shoal ls` (client/cli_put.c), `shoal load` (client/cli_load.c). */
int cli_put(const struct cli_opts *o, int argc, char **argv);
int cli_ls(const struct cli_opts *o, int argc, char **argv);
int cli_load(const struct cli_opts *o, int argc, char **argv);

/* `shoal drain NODE`, and `shoal ring` from the seeds through libshoal
 * (client/cli_drain.c). */
int cli_drain(const struct cli_opts *o, int argc, char **argv);
int cli_ring_seeds(const struct cli_opts *o, int json);

/* `shoal keygen`: argv[0] is "keygen". Returns an exit code. */
int cli_keygen(int argc, char **argv);

#endif
