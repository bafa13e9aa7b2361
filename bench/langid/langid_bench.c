/* langid_bench.c: compares two language identifiers on a JSON Lines file
 * with ground-truth "lang" fields:
 *   - CLD2 through polysearch's ps_detect_lang();
 *   - libexttextcat with its default fingerprints (fpdb.conf).
 * For each: accuracy, per-language results and confusions, microseconds
 * per document and load time.  Prints a markdown report on stdout; logs
 * on stderr.
 *
 * Usage: ps-langid-bench [--text body|title+body] [--fpdb FILE]
 *                        [--max-bytes N] FILE.jsonl
 * --text title+body (default) feeds what the indexer feeds: title, newline,
 * body.  Both detectors get the same bytes, cut at --max-bytes (default
 * 65536, the detector's own cap) on a UTF-8 boundary.
 */
#include <jansson.h>
#include <libexttextcat/textcat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "analyze.h"
#include "utf8.h"
#include "util.h"

#define MAX_LANGS 64

typedef struct tally {
    char gold[16];
    unsigned n, ok[2];
    char got[2][MAX_LANGS][16];
    unsigned gotn[2][MAX_LANGS];
    unsigned ngot[2];
} tally;

typedef struct stats {
    tally langs[MAX_LANGS];
    unsigned nlangs, ndocs, ok[2];
    uint64_t us[2];
    size_t bytes;
} stats;

static tally *find_tally(stats *s, const char *gold)
{
    for (unsigned i = 0; i < s->nlangs; i++)
        if (strcmp(s->langs[i].gold, gold) == 0)
            return &s->langs[i];
    if (s->nlangs == MAX_LANGS)
        return NULL;
    tally *t = &s->langs[s->nlangs++];
    memset(t, 0, sizeof *t);
    snprintf(t->gold, sizeof t->gold, "%s", gold);
    return t;
}

static void count_miss(tally *t, int det, const char *got)
{
    for (unsigned i = 0; i < t->ngot[det]; i++)
        if (strcmp(t->got[det][i], got) == 0) {
            t->gotn[det][i]++;
            return;
        }
    if (t->ngot[det] == MAX_LANGS)
        return;
    snprintf(t->got[det][t->ngot[det]], 16, "%s", got);
    t->gotn[det][t->ngot[det]++] = 1;
}

/* Maps exttextcat's answer ("[en--utf8][de--utf8]", "UNKNOWN", "SHORT")
 * to a polysearch code: the first candidate's language part, Norwegian
 * variants as "no", restricted to ps_lang_valid() like CLD2's answers. */
static const char *textcat_code(const char *answer, char *buf, size_t bufsz)
{
    size_t n = 0;
    const char *canon;
    if (answer == NULL || answer[0] != '[')
        return "und";
    answer++;
    while (answer[n] != '\0' && answer[n] != '-' && answer[n] != ']' &&
           n + 1 < bufsz) {
        buf[n] = answer[n];
        n++;
    }
    buf[n] = '\0';
    if (strcmp(buf, "nb") == 0 || strcmp(buf, "nn") == 0)
        return "no";
    canon = ps_lang_canonical(buf);
    return canon != NULL ? canon : "und";
}

static void usage(void)
{
    fprintf(stderr, "usage: ps-langid-bench [--text body|title+body] "
                    "[--fpdb FILE] [--max-bytes N] FILE.jsonl\n");
    exit(EX_USAGE);
}

static int cmp_tally(const void *a, const void *b)
{
    return strcmp(((const tally *)a)->gold, ((const tally *)b)->gold);
}

/* "en 12, und 3" for the top misses of one detector. */
static void miss_summary(const tally *t, int det, char *out, size_t outsz)
{
    unsigned used[MAX_LANGS] = {0};
    size_t o = 0;
    out[0] = '\0';
    for (int k = 0; k < 4; k++) {
        int best = -1;
        for (unsigned i = 0; i < t->ngot[det]; i++)
            if (!used[i] && (best < 0 || t->gotn[det][i] > t->gotn[det][best]))
                best = (int)i;
        if (best < 0)
            break;
        used[best] = 1;
        int w = snprintf(out + o, outsz - o, "%s%s %u", o ? ", " : "",
                         t->got[det][best], t->gotn[det][best]);
        if (w < 0 || (size_t)w >= outsz - o)
            break;
        o += (size_t)w;
    }
    if (o == 0)
        snprintf(out, outsz, "-");
}

int main(int argc, char **argv)
{
    const char *fpdb = "/usr/share/libexttextcat/fpdb.conf", *path = NULL;
    int title_body = 1;
    uint64_t max_bytes = 65536, t0, load_cld2, load_tc;
    stats *s = calloc(1, sizeof *s);
    FILE *f;
    char *line = NULL, prefix[4096];
    size_t cap = 0;
    void *tc;

    if (s == NULL)
        return EX_OSERR;
    ps_log_init(argv[0], PS_LOG_INFO);
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--text") == 0 && i + 1 < argc) {
            i++;
            if (strcmp(argv[i], "body") == 0)
                title_body = 0;
            else if (strcmp(argv[i], "title+body") == 0)
                title_body = 1;
            else
                usage();
        } else if (strcmp(argv[i], "--fpdb") == 0 && i + 1 < argc) {
            fpdb = argv[++i];
        } else if (strcmp(argv[i], "--max-bytes") == 0 && i + 1 < argc) {
            if (ps_parse_u64(argv[++i], 16, 1u << 30, &max_bytes) != 0)
                usage();
        } else if (argv[i][0] == '-' || path != NULL) {
            usage();
        } else {
            path = argv[i];
        }
    }
    if (path == NULL)
        usage();
    f = fopen(path, "r");
    if (f == NULL) {
        ps_log(PS_LOG_ERROR, "cannot open %s", path);
        return EX_NOINPUT;
    }

    /* CLD2's tables are static data: "loading" is the first call. */
    t0 = ps_now_us();
    (void)ps_detect_lang("warm up the detector with a short sentence", 42);
    load_cld2 = ps_now_us() - t0;
    /* exttextcat reads one fingerprint file per language. */
    snprintf(prefix, sizeof prefix, "%s", fpdb);
    {
        char *slash = strrchr(prefix, '/');
        if (slash != NULL)
            slash[1] = '\0';
        else
            snprintf(prefix, sizeof prefix, "./");
    }
    t0 = ps_now_us();
    tc = special_textcat_Init(fpdb, prefix);
    load_tc = ps_now_us() - t0;
    if (tc == NULL) {
        ps_log(PS_LOG_ERROR, "cannot load exttextcat fingerprints from %s",
               fpdb);
        return EX_UNAVAILABLE;
    }

    while (getline(&line, &cap, f) > 0) {
        json_error_t jerr;
        json_t *j = json_loads(line, 0, &jerr);
        const char *gold, *title, *body, *got[2];
        char *text, tcbuf[16];
        size_t len;
        tally *t;
        if (j == NULL) {
            ps_log(PS_LOG_WARN, "skipping bad line: %s", jerr.text);
            continue;
        }
        gold = json_string_value(json_object_get(j, "lang"));
        title = json_string_value(json_object_get(j, "title"));
        body = json_string_value(json_object_get(j, "body"));
        if (gold == NULL || body == NULL || (t = find_tally(s, gold)) == NULL) {
            json_decref(j);
            continue;
        }
        if (title_body && title != NULL && title[0] != '\0') {
            size_t tl = strlen(title), bl = strlen(body);
            text = malloc(tl + bl + 2);
            if (text == NULL)
                return EX_OSERR;
            memcpy(text, title, tl);
            text[tl] = '\n';
            memcpy(text + tl + 1, body, bl + 1);
        } else {
            text = strdup(body);
            if (text == NULL)
                return EX_OSERR;
        }
        len = ps_utf8_cut(text, strlen(text), (size_t)max_bytes);
        s->bytes += len;

        t0 = ps_now_us();
        got[0] = ps_detect_lang(text, len);
        s->us[0] += ps_now_us() - t0;
        t0 = ps_now_us();
        got[1] = textcat_code(textcat_Classify(tc, text, len), tcbuf,
                              sizeof tcbuf);
        s->us[1] += ps_now_us() - t0;

        s->ndocs++;
        t->n++;
        for (int d = 0; d < 2; d++) {
            if (strcmp(got[d], gold) == 0) {
                s->ok[d]++;
                t->ok[d]++;
            } else {
                count_miss(t, d, got[d]);
            }
        }
        free(text);
        json_decref(j);
    }
    free(line);
    fclose(f);
    textcat_Done(tc);
    if (s->ndocs == 0) {
        ps_log(PS_LOG_ERROR, "no documents with lang and body in %s", path);
        return EX_DATAERR;
    }

    qsort(s->langs, s->nlangs, sizeof s->langs[0], cmp_tally);
    printf("Language identification on `%s`: %u documents, %zu bytes "
           "(mean %zu bytes per document, text = %s).\n\n",
           strrchr(path, '/') ? strrchr(path, '/') + 1 : path, s->ndocs,
           s->bytes, s->bytes / s->ndocs, title_body ? "title + body" : "body");
    printf("| detector | accuracy | µs per document | load time |\n");
    printf("|---|---|---|---|\n");
    printf("| CLD2 full tables (`ps_detect_lang`) | %.2f %% (%u/%u) | %.1f | "
           "%.1f ms |\n", 100.0 * s->ok[0] / s->ndocs, s->ok[0], s->ndocs,
           (double)s->us[0] / s->ndocs, load_cld2 / 1000.0);
    printf("| libexttextcat %s (fpdb.conf) | %.2f %% (%u/%u) | %.1f | "
           "%.1f ms |\n", textcat_Version(), 100.0 * s->ok[1] / s->ndocs,
           s->ok[1], s->ndocs, (double)s->us[1] / s->ndocs,
           load_tc / 1000.0);
    printf("\nPer language (misses: detected language and count):\n\n");
    printf("| lang | docs | CLD2 | CLD2 misses | exttextcat | exttextcat "
           "misses |\n");
    printf("|---|---|---|---|---|---|\n");
    for (unsigned i = 0; i < s->nlangs; i++) {
        const tally *t = &s->langs[i];
        char m0[128], m1[128];
        miss_summary(t, 0, m0, sizeof m0);
        miss_summary(t, 1, m1, sizeof m1);
        printf("| %s | %u | %.1f %% | %s | %.1f %% | %s |\n", t->gold, t->n,
               100.0 * t->ok[0] / t->n, m0, 100.0 * t->ok[1] / t->n, m1);
    }
    free(s);
    return EX_OK;
}
