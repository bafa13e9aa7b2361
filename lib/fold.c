/* fold.c: placeholder until implemented. */
typedef int ps_placeholder_fold_c;
