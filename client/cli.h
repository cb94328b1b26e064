/* client/cli.h: what the `shoal` command's files share. */
#ifndef SHOAL_CLI_H
#define SHOAL_CLI_H

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

/* `shoal keygen`: argv[0] is "keygen". Returns an exit code. */
int cli_keygen(int argc, char **argv);

#endif
