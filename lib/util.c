/* util.c: placeholder until implemented. */
typedef int ps_placeholder_util_c;
