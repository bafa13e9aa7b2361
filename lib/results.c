/* results.c: placeholder until implemented. */
typedef int ps_placeholder_results_c;
