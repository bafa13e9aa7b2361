#!/bin/bash
# polysearch-index --query over corpus/: accented, unaccented and
# upper-case queries in French, German and English, phrases, lang filter.
source "$(dirname "$0")/indexer_lib.sh" "$@"

mkdir "$T/corpus"
cp "$SRC"/corpus/*.txt "$T/corpus/"
run add --db "$DB" --quiet "$T/corpus"
expect_rc add 0
expect_out add "added 5,"
if [ -s "$T/add.err" ]; then fail "--quiet still logged"; cat "$T/add.err" >&2; fi

FR1=000_3d3df94667dbc618 FR2=001_10c8717af35b6bd6
DE1=002_3a6c8b53a02b138e DE2=003_653f2c5ef5783ed2 EN=004_b8e695500c194ab7

# Folding: the three spellings give the same hits, and at least the two
# French articles about "santé".
for q in santé sante SANTÉ Santé; do
    query_ids "$q" > "$T/hits_$q"
done
for q in sante SANTÉ Santé; do
    cmp -s "$T/hits_santé" "$T/hits_$q" && ok "[$q] = [santé]" \
        || fail "[$q] hits differ from [santé]: $(tr '\n' ' ' < "$T/hits_$q")"
done
for id in $FR1 $FR2 $DE2; do
    grep -qx "$id" "$T/hits_santé" && ok "santé finds $id" || fail "santé misses $id"
done

for q in lyonbiopole LYONBIOPOLE Lyonbiopôle lyonbiopôle; do
    query_ids "$q" > "$T/hits_lyon_$q"
    grep -qx $FR1 "$T/hits_lyon_$q" && ok "[$q] finds $FR1" || fail "[$q] misses $FR1"
    cmp -s "$T/hits_lyon_lyonbiopole" "$T/hits_lyon_$q" || fail "[$q] differs from [lyonbiopole]"
done

# German compound, English/French/German stems.
query_ids Gesundheitscluster > "$T/hits_g"
grep -qx $DE1 "$T/hits_g" || grep -qx $DE2 "$T/hits_g" \
    && ok "Gesundheitscluster finds a German article" || fail "Gesundheitscluster: $(cat "$T/hits_g")"
query_ids innovation > "$T/hits_i"
for id in $FR1 $DE1 $EN; do
    grep -qx "$id" "$T/hits_i" && ok "innovation finds $id" || fail "innovation misses $id"
done

# Phrase.
expect_hits '"hub santé"' $FR1
expect_hits '"hub sante"' $FR1
# Language filter.
query_ids innovation > /dev/null
timeout 30 "$PSI" --db "$DB" --lang de --query innovation > "$T/lang.out" 2>&1
if grep -q 'lang=fr\|lang=en' "$T/lang.out"; then fail "--lang de shows other languages"
else grep -q 'lang=de' "$T/lang.out" && ok "--lang de filter" || fail "--lang de: no hit"; fi
# Output format: rank, title, id, lang, score and a snippet.
run show --db "$DB" --query lyonbiopôle --limit 1
expect_rc show 0
expect_out show "1. "
expect_out show "id=$FR1 lang=fr score="
expect_out show "of about"
grep -q '^   .*\[' "$T/show.out" && ok "snippet with highlights" || fail "no highlighted snippet"
# Nothing found is not an error; a bad query is exit 65.
run none --db "$DB" --query zzzyxqwv
expect_rc none 0
expect_out none "0 of about 0 matches"
finish
