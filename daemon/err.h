/* daemon/err.h: the one error enum of shoald's core (STYLE rule 4).
 *
 * Functions return 0 (SHD_OK) or one of these negative codes. Details meant
 * for a person (file, line, errno text) travel separately, e.g. in a
 * struct shd_diag. Later subsystems append codes; never renumber. */
#ifndef SHOAL_DAEMON_ERR_H
#define SHOAL_DAEMON_ERR_H

enum shd_err {
    SHD_OK = 0,
    SHD_ERR_INVAL = -1,       /* invalid argument or value */
    SHD_ERR_IO = -2,          /* a file could not be opened or read */
    SHD_ERR_CONFIG = -3,      /* configuration invalid; see the diagnostics */
    SHD_ERR_TOOBIG = -4,      /* input larger than its ceiling */
    SHD_ERR_UNSUPPORTED = -5, /* feature not built (yet) */
    SHD_ERR_NOENT = -6,       /* no such block (or it was corrupt and dropped) */
    SHD_ERR_CORRUPT = -7,     /* stored bytes failed their checksum or header checks */
};

/* shd_strerror: a short static text for an shd_err code (never NULL). */
const char *shd_strerror(int err);

#endif
