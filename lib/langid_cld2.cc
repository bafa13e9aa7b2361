// langid_cld2.cc: placeholder until implemented.
