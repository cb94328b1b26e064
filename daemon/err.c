/* daemon/err.c: texts for the codes of enum shd_err. */
#include "daemon/err.h"

const char *shd_strerror(int err)
{
    switch (err) {
    case SHD_OK:
        return "success";
    case SHD_ERR_INVAL:
        return "invalid argument";
    case SHD_ERR_IO:
        return "input/output error";
    case SHD_ERR_CONFIG:
        return "invalid configuration";
    case SHD_ERR_TOOBIG:
        return "input too large";
    case SHD_ERR_UNSUPPORTED:
        return "not supported";
    case SHD_ERR_NOENT:
        return "no such block";
    case SHD_ERR_CORRUPT:
        return "corrupt data";
    }
    return "unknown error";
}
