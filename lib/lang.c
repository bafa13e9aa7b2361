/* lang.c: placeholder until implemented. */
typedef int ps_placeholder_lang_c;
