# A commit per new title word (the daemon soak's pattern) across the size
# where Xapian 1.4.22 writes a spelling fragment list it cannot read back
# ("Too few chunks of compressed data"): every commit succeeds, documents
# intact, spelling table readable (tests/RELIABILITY.md, round 4).
ps_unit_test(test_spelling_fragments SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_spelling_fragments.c LIBS ps_core)
# A database that already holds such a list: tests/e2e/spelling_unreadable.py
# (e2e_spelling_unreadable, made with python3-xapian).
