// xapian.cc: placeholder until implemented.
