/* isodate.h: ISO 8601 dates, normalised to a sortable UTC key.  Used by
 * the core (stored date value, search date bounds) and by the document
 * validator (docvalid.h), so one parser decides what a valid date is.
 * Pure C, no allocation; reentrant (any thread).
 */
#ifndef PS_ISODATE_H
#define PS_ISODATE_H

#ifdef __cplusplus
extern "C" {
#endif

/* Length of a normalised date "YYYYMMDDHHMMSS" (without the NUL). */
#define PS_DATE_KEY_LEN 14

/* Normalises an ISO 8601 date or date-time ("2022", "2022-05",
 * "2022-05-19", "2022-05-19T10:30", "2022-05-19 10:30:15.25+02:00",
 * "...Z") to UTC "YYYYMMDDHHMMSS" in out[0..15).  Missing trailing parts
 * are filled with their lowest value, or with their highest value when
 * `upper` is non-zero (an inclusive upper bound "2022-05-19" covers the
 * whole day).  Returns 0, or -1 when the text is not a valid date (or s is
 * NULL); out is written only on success. */
int ps_date_normalize(const char *s, int upper, char out[PS_DATE_KEY_LEN + 1]);

#ifdef __cplusplus
}
#endif
#endif
