/* isodate.c: ISO 8601 date normalisation (isodate.h). */
#include "isodate.h"

#include <stdio.h>
#include <string.h>

/* Reads exactly n decimal digits at *p; advances *p.  Returns -1 when a
 * non-digit is found. */
static int read_digits(const char **p, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        char c = (*p)[i];
        if (c < '0' || c > '9')
            return -1;
        v = v * 10 + (c - '0');
    }
    *p += n;
    return v;
}

static int is_leap(long y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(long y, int m)
{
    static const int d[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : d[m - 1];
}

/* Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm). */
static long days_from_civil(long y, int m, int d)
{
    y -= m <= 2;
    long era = (y >= 0 ? y : y - 399) / 400;
    long yoe = y - era * 400;
    long doy = (153L * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void civil_from_days(long z, long *y, int *m, int *d)
{
    z += 719468;
    long era = (z >= 0 ? z : z - 146096) / 146097;
    long doe = z - era * 146097;
    long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    long mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

int ps_date_normalize(const char *s, int upper, char out[PS_DATE_KEY_LEN + 1])
{
    if (!s)
        return -1;
    const char *p = s;
    int year = read_digits(&p, 4);
    if (year < 0)
        return -1;
    int mon = upper ? 12 : 1, day = 1, hh = upper ? 23 : 0;
    int mi = upper ? 59 : 0, ss = upper ? 59 : 0;
    int have_day = 0, have_time = 0;
    if (*p == '-') {
        p++;
        if ((mon = read_digits(&p, 2)) < 1 || mon > 12)
            return -1;
        if (*p == '-') {
            p++;
            if ((day = read_digits(&p, 2)) < 1)
                return -1;
            have_day = 1;
        }
    }
    if (!have_day && upper)
        day = days_in_month(year, mon);
    if (day > days_in_month(year, mon))
        return -1;
    if (have_day && (*p == 'T' || *p == 't' || *p == ' ')) {
        p++;
        if ((hh = read_digits(&p, 2)) < 0 || hh > 23 || *p++ != ':')
            return -1;
        if ((mi = read_digits(&p, 2)) < 0 || mi > 59)
            return -1;
        ss = upper ? 59 : 0;
        if (*p == ':') {
            p++;
            if ((ss = read_digits(&p, 2)) < 0 || ss > 60)
                return -1;
            if (ss == 60)
                ss = 59; /* leap second: keep it sortable */
            if (*p == '.' || *p == ',') {
                p++;
                if (*p < '0' || *p > '9')
                    return -1;
                while (*p >= '0' && *p <= '9')
                    p++;
            }
        }
        have_time = 1;
    }
    int offset_min = 0;
    if (have_time && (*p == 'Z' || *p == 'z')) {
        p++;
    } else if (have_time && (*p == '+' || *p == '-')) {
        int sign = *p++ == '-' ? -1 : 1;
        int oh = read_digits(&p, 2), om = 0;
        if (oh < 0 || oh > 23)
            return -1;
        if (*p == ':')
            p++;
        if (*p >= '0' && *p <= '9') {
            if ((om = read_digits(&p, 2)) < 0 || om > 59)
                return -1;
        }
        offset_min = sign * (oh * 60 + om);
    }
    if (*p != '\0')
        return -1;
    if (offset_min != 0) {
        long t = (days_from_civil(year, mon, day) * 24 + hh) * 60 + mi
                 - offset_min;
        long days = t >= 0 ? t / 1440 : -((-t + 1439) / 1440);
        long mins = t - days * 1440;
        long y;
        civil_from_days(days, &y, &mon, &day);
        if (y < 0 || y > 9999)
            return -1;
        year = (int)y;
        hh = (int)(mins / 60);
        mi = (int)(mins % 60);
    }
    char tmp[64];
    snprintf(tmp, sizeof tmp, "%04d%02d%02d%02d%02d%02d", year, mon, day, hh,
             mi, ss);
    memcpy(out, tmp, PS_DATE_KEY_LEN + 1);
    return 0;
}
