/* tests/fuzz/replay.c: replays a fuzz target's corpus as an ordinary test.
 *
 * Linked with one tests/fuzz/fuzz_NAME.c into $(BUILD)/tests/test_fuzz_NAME
 * (tests/fuzz/fuzz.mk), built with the ordinary compiler and flags, so
 * tests/run.sh runs it plain, under ASan+UBSan and under valgrind like any
 * unit test. With no arguments it replays tests/fuzz/corpus/NAME/ (NAME from
 * the program's name; the directory is looked up from the current one, then
 * upwards from the binary's); arguments name other files or directories
 * (a crash file to reproduce without clang, say).
 *
 * Each file is one check, run in a child process: the target abort()s on a
 * broken invariant, and a sanitizer or valgrind report makes the child exit
 * non-zero; either is that file's failure, and the others still run. The
 * last line is "N passed, N failed"; the exit status is 1 when anything
 * failed, or when the corpus is missing or empty. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

static int passed, failed;

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* read_file: the whole of PATH, malloc'd (never NULL on success); -1 on error. */
static int read_file(const char *path, uint8_t **out, size_t *len)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf = NULL;
    size_t n = 0, cap = 0;

    if (!f)
        return -1;
    for (;;) {
        if (n == cap) {
            uint8_t *nb = realloc(buf, cap ? 2 * cap : 4096);
            if (!nb) {
                free(buf);
                fclose(f);
                return -1;
            }
            buf = nb;
            cap = cap ? 2 * cap : 4096;
        }
        size_t k = fread(buf + n, 1, cap - n, f);
        n += k;
        if (k == 0)
            break;
    }
    if (ferror(f)) {
        free(buf);
        fclose(f);
        return -1;
    }
    fclose(f);
    *out = buf;
    *len = n;
    return 0;
}

/* replay_one: PATH through the target in a child; one check. */
static void replay_one(const char *path)
{
    int status;
    pid_t pid;

    fflush(stdout);
    fflush(stderr);
    pid = fork();
    if (pid < 0) {
        printf("FAIL %s (fork: %s)\n", path, strerror(errno));
        failed++;
        return;
    }
    if (pid == 0) {
        uint8_t *data;
        size_t len;

        if (read_file(path, &data, &len) != 0) {
            fprintf(stderr, "%s: cannot read: %s\n", path, strerror(errno));
            exit(2);
        }
        LLVMFuzzerTestOneInput(data, len);
        free(data);
        exit(0); /* not _exit: leak checkers report at exit */
    }
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
        printf("ok   %s\n", path);
        passed++;
    } else if (WIFSIGNALED(status)) {
        printf("FAIL %s (signal %d: a broken invariant or a crash, see above)\n", path,
               WTERMSIG(status));
        failed++;
    } else {
        printf("FAIL %s (exit %d: a sanitizer or valgrind report, see above)\n", path,
               WEXITSTATUS(status));
        failed++;
    }
    fflush(stdout);
}

/* replay_path: a file, or every file of a directory (sorted; dot files
 * skipped). Returns how many files were replayed, -1 if PATH is missing. */
static int replay_path(const char *path)
{
    struct stat st;
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    DIR *d;

    if (stat(path, &st) != 0)
        return -1;
    if (!S_ISDIR(st.st_mode)) {
        replay_one(path);
        return 1;
    }
    if (!(d = opendir(path)))
        return -1;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        if (n == cap) {
            char **nn = realloc(names, (cap ? 2 * cap : 64) * sizeof(*names));
            if (!nn)
                break;
            names = nn;
            cap = cap ? 2 * cap : 64;
        }
        names[n] = malloc(strlen(path) + strlen(e->d_name) + 2);
        if (!names[n])
            break;
        sprintf(names[n], "%s/%s", path, e->d_name);
        n++;
    }
    closedir(d);
    if (n)
        qsort(names, n, sizeof(*names), cmp_str);
    for (size_t i = 0; i < n; i++) {
        replay_one(names[i]);
        free(names[i]);
    }
    free(names);
    return (int)n;
}

/* corpus_dir: tests/fuzz/corpus/NAME from the current directory, else from
 * the directories above the binary (BUILD/tests/test_fuzz_NAME). */
static const char *corpus_dir(const char *name, char *buf, size_t len)
{
    char exe[PATH_MAX];
    ssize_t n;

    snprintf(buf, len, "tests/fuzz/corpus/%s", name);
    if (access(buf, F_OK) == 0)
        return buf;
    n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n > 0) {
        exe[n] = '\0';
        for (int up = 0; up < 5; up++) {
            char *slash = strrchr(exe, '/');
            if (!slash)
                break;
            *slash = '\0';
            snprintf(buf, len, "%s/tests/fuzz/corpus/%s", exe, name);
            if (access(buf, F_OK) == 0)
                return buf;
        }
    }
    snprintf(buf, len, "tests/fuzz/corpus/%s", name);
    return buf;
}

int main(int argc, char **argv)
{
    const char *me = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
    const char *name = strncmp(me, "test_fuzz_", 10) == 0 ? me + 10 : me;
    char dir[PATH_MAX + 64];
    int files = 0;

    if (LLVMFuzzerInitialize)
        LLVMFuzzerInitialize(&argc, &argv);
    if (argc > 1) {
        for (int i = 1; i < argc; i++) {
            int k = replay_path(argv[i]);
            if (k < 0) {
                printf("FAIL %s: no such file or directory\n", argv[i]);
                failed++;
            }
            files += k > 0 ? k : 0;
        }
        if (files == 0 && !failed) {
            printf("FAIL no input files in the arguments\n");
            failed++;
        }
    } else {
        const char *d = corpus_dir(name, dir, sizeof(dir));
        files = replay_path(d);
        if (files < 0) {
            printf("FAIL the corpus directory %s is missing (run from the repository root, or "
                   "name files or directories as arguments)\n",
                   d);
            failed++;
        } else if (files == 0) {
            printf("FAIL the corpus directory %s is empty: a target needs seed inputs\n", d);
            failed++;
        }
    }
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
