/* fuzz_replay.c: runs LLVMFuzzerTestOneInput over every file given on the
 * command line, descending one level into directories.  Used by ctest to
 * replay the fuzz corpus with any compiler (no libFuzzer needed).
 * Exit status: 0 when at least one input ran, EX_NOINPUT when none was
 * found, EX_IOERR on a read error; an invariant failure aborts. */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Reads a whole file into a malloc'd buffer; returns 0 or -1. */
static int read_file(const char *path, uint8_t **out, size_t *len)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf = NULL;
    size_t cap = 0, n = 0;
    if (f == NULL)
        return -1;
    for (;;) {
        size_t got;
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 4096;
            uint8_t *p = realloc(buf, ncap);
            if (p == NULL) {
                free(buf);
                fclose(f);
                return -1;
            }
            buf = p;
            cap = ncap;
        }
        got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0)
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

static int run_file(const char *path, unsigned long *count)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    if (read_file(path, &buf, &len) != 0) {
        fprintf(stderr, "fuzz_replay: %s: %s\n", path, strerror(errno));
        return -1;
    }
    LLVMFuzzerTestOneInput(buf, len);
    free(buf);
    (*count)++;
    return 0;
}

int main(int argc, char **argv)
{
    unsigned long count = 0;
    int rc = EX_OK;
    if (argc < 2) {
        fprintf(stderr, "usage: %s FILE-OR-DIR...\n", argv[0]);
        return EX_USAGE;
    }
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) != 0) {
            fprintf(stderr, "fuzz_replay: %s: %s\n", argv[i],
                    strerror(errno));
            return EX_NOINPUT;
        }
        if (S_ISDIR(st.st_mode)) {
            DIR *dir = opendir(argv[i]);
            struct dirent *e;
            if (dir == NULL) {
                fprintf(stderr, "fuzz_replay: %s: %s\n", argv[i],
                        strerror(errno));
                return EX_NOINPUT;
            }
            while ((e = readdir(dir)) != NULL) {
                char path[4096];
                struct stat fst;
                if (e->d_name[0] == '.')
                    continue;
                if ((size_t)snprintf(path, sizeof path, "%s/%s", argv[i],
                                     e->d_name) >= sizeof path)
                    continue;
                if (stat(path, &fst) != 0 || !S_ISREG(fst.st_mode))
                    continue;
                if (run_file(path, &count) != 0)
                    rc = EX_IOERR;
            }
            closedir(dir);
        } else if (run_file(argv[i], &count) != 0) {
            rc = EX_IOERR;
        }
    }
    printf("fuzz_replay: %lu inputs replayed\n", count);
    if (count == 0) {
        fprintf(stderr, "fuzz_replay: no inputs found\n");
        return EX_NOINPUT;
    }
    return rc;
}
