#!/usr/bin/env bash
# demo.sh - README's first command: install what is missing, build, and run
# the main job on this machine: a local HTTPS server with a generated test
# CA, two schools enrolled, events recorded offline, status, sync, status,
# and what the office sees. Everything lives in build/demo and is removed
# and made again on each run; the server is stopped at the end.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
bash scripts/deps.sh
echo "== build"
bash scripts/build.sh build

B="$here/build"
D="$B/demo"
rm -rf "$D"
mkdir -p "$D"
cd "$D"
server_pid=""
cleanup() { [ -n "$server_pid" ] && kill -TERM "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null; true; }
trap cleanup EXIT

say() { printf '\n== %s\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }

say "a test CA and a certificate for 127.0.0.1 (never use these in production)"
bash "$here/scripts/mkcerts.sh" certs >/dev/null
ls certs

say "the office makes its database (mode 0600); no other command creates one"
run "$B/tienbo-server" init-db --db office.db

say "the office enrolls two schools in two districts; each gets a token, shown once"
run "$B/tienbo-server" enroll --db office.db --school HB-TH-DABAC --name "Trường Tiểu học Thị trấn Đà Bắc" --district HB-DABAC --level TH \
  --district-name "Huyện Đà Bắc" --province HB --province-name "Tỉnh Hòa Bình" | tee enroll1.txt
run "$B/tienbo-server" enroll --db office.db --school HB-THCS-MAICHAU --name "Trường THCS Mai Châu" --district HB-MAICHAU --level THCS \
  --district-name "Huyện Mai Châu" --province HB | tee enroll2.txt
token1=$(tail -n 1 enroll1.txt)
token2=$(tail -n 1 enroll2.txt)

say "the office starts the HTTPS server (port chosen by the system)"
"$B/tienbo-server" serve --listen 127.0.0.1:0 --cert certs/server.pem --key certs/server.key --db office.db >server.log 2>&1 &
server_pid=$!
port=""
for _ in $(seq 1 50); do
  port=$(grep -o 'port [0-9]*' server.log 2>/dev/null | head -n 1 | awk '{print $2}') || true
  [ -n "$port" ] && break
  sleep 0.1
done
[ -n "$port" ] || { cat server.log; echo "demo: the server did not start" >&2; exit 1; }
cat server.log
url="https://127.0.0.1:$port"

A1=("$B/tienbo-agent" --config school1.conf)
A2=("$B/tienbo-agent" --config school2.conf)

say "each school sets up its agent once"
run "${A1[@]}" init --server "$url" --school HB-TH-DABAC --token "$token1" --ca-file certs/ca.pem --data-dir school1
run "${A2[@]}" init --server "$url" --school HB-THCS-MAICHAU --token "$token2" --ca-file certs/ca.pem --data-dir school2

say "clerks record activities offline (no network needed)"
run "${A1[@]}" record outreach --date 2025-03-08 --title "Nói chuyện chuyên đề Ngày Quốc tế Phụ nữ" --parents 45 --students 310 --teachers-staff 22 --occasion womens-day --channel meeting
run "${A1[@]}" record action-month --date 2025-11-20 --title "Tháng hành động vì bình đẳng giới: sân khấu hóa" --students 280 --parents 60 --occasion action-month --channel event
run "${A1[@]}" record training --date 2025-10-02 --title "Tập huấn kỹ năng cho Ban VSTBPN" --topic "bình đẳng giới" --participants 12 --female 9 --ban-members 7 --women-in-planning 3
run "${A1[@]}" record snapshot --date 2025-06-30 --ban-members 7 --ban-members-trained 5 --women-in-planning 3 --women-in-planning-trained 2 --website-section yes --curriculum-content yes
run "${A2[@]}" record outreach --date 2025-11-25 --title "Sinh hoạt dưới cờ: phòng chống bạo lực giới" --students 540 --teachers-staff 35 --occasion action-month --channel meeting
run "${A2[@]}" record web-post --date 2025-11-26 --title "Chuyên mục bình đẳng giới: bài tháng 11" --url https://thcsmaichau.edu.vn/binh-dang-gioi
run "${A2[@]}" record snapshot --date 2025-06-30 --ban-members 5 --ban-members-trained 5 --key-posts 3 --key-posts-women 1 --website-section yes

say "a refused record names the field and the rule, and records nothing"
run "${A2[@]}" record action-month --date 2025-12-20 --title "Ngoài tháng hành động" --students 10 || echo "(exit $?)"
run "${A2[@]}" record training --date 2025-11-02 --title "Tập huấn" --participants 10 --female 12 || echo "(exit $?)"

say "a mistake is corrected as a new revision, not by rewriting history"
id=$("${A1[@]}" list --kind outreach --json | grep -o '"id":[[:space:]]*"[^"]*"' | head -n 1 | sed 's/.*"\([^"]*\)"$/\1/')
run "${A1[@]}" amend "$id" --parents 50

say "before the link is up: what waits"
run "${A1[@]}" status

say "the link is up: sync"
run "${A1[@]}" sync
run "${A2[@]}" sync

say "after the sync"
run "${A1[@]}" status
run "${A2[@]}" status --json

say "syncing again sends nothing twice"
run "${A1[@]}" sync

say "what the office holds (current revision of every event)"
run "$B/tienbo-server" export --db office.db --format csv
run "$B/tienbo-server" devices --db office.db

if "$B/tienbo-server" --help 2>&1 | grep -q '^ *report'; then
  say "the office's half-year report (Hòa Bình plan, 2025-H2, whole province)"
  run "$B/tienbo-server" report --db office.db --plans-dir "$here/plans" --plan hoa-binh-2022-2030 --period 2025-H2 --format csv

  say "the same report as the office sends it up: Excel, the printed PDF, and the dashboard page of one district"
  run "$B/tienbo-server" report --db office.db --plans-dir "$here/plans" --plan hoa-binh-2022-2030 --period 2025-H2 --format xlsx --output bao-cao-2025-H2.xlsx
  run "$B/tienbo-server" report --db office.db --plans-dir "$here/plans" --plan hoa-binh-2022-2030 --period 2025-H2 --format pdf --output bao-cao-2025-H2.pdf
  run "$B/tienbo-server" report --db office.db --plans-dir "$here/plans" --plan hoa-binh-2022-2030 --period 2025-H2 --unit HB-DABAC --format html --output huyen-da-bac.html
  ls -l bao-cao-2025-H2.xlsx bao-cao-2025-H2.pdf huyen-da-bac.html
  say "completeness: which schools reported 2025-H2, and on time (10 days after the half-year)"
  "$B/tienbo-server" report --db office.db --plans-dir "$here/plans" --plan hoa-binh-2022-2030 --period 2025-H2 --detail |
    grep -A11 "$(printf '^\t"completeness"')" || true
  say "the office's units"
  run "$B/tienbo-server" units --db office.db
fi

say "done: files in $D"
