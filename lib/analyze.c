/* analyze.c: placeholder until implemented. */
typedef int ps_placeholder_analyze_c;
