/* rpc.c: placeholder until implemented. */
typedef int ps_placeholder_rpc_c;
