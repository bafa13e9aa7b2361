# Unit tests of the HTTP/JSON front end's pure parts: jsonmp.c (JSON <->
# MessagePack objects), http_args.c (query strings and POST /docs bodies
# to method arguments) and the --http options.
ps_unit_test(test_http_args SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_http_args.c
             LIBS searchd_common)
