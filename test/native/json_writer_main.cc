// Test harness of the JSON writer (native/core/json.h, json::Writer), built with g++ by
// test/unit/json_writer.test.ts on any machine:
//   json_writer
// prints one JSON object, written by json::Writer itself: `doc`, a document with every kind of
// value (strings that need escaping, integers at the int64 / uint64 limits, doubles that need all
// 17 digits or very few); `doubleTexts`, the text the writer gives each double; `refused`, the
// status of writers misused (non-finite numbers, keys outside objects, unbalanced ends), each
// {code, message, text}; and `reparsed`, whether json::parse reads `doc` back to the same values.
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "core/json.h"

namespace {

using trtn::json::Writer;

const std::vector<std::string>& strings() {
  static const std::vector<std::string> v = {
      "plain",
      "a \"quoted\" word",
      "back\\slash and /slash",
      "newline\n return\r tab\t",
      std::string("nul\0byte", 8),
      "\x01\x08\x0c\x1b\x1f",
      "\x7f delete stays",
      "unicode: \xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80",
  };
  return v;
}

const std::vector<double>& doubles() {
  static const std::vector<double> v = {0.1,     1.0 / 3.0, 0.1 + 0.2, -0.0,   1e-300,  5e-324, DBL_MAX,
                                        1e21,    1e-7,      123456789.125, 9007199254740994.0, -2.5, 3.0};
  return v;
}

void write_doc(Writer& w) {
  w.begin_object().key("strings").begin_array();
  for (const std::string& s : strings()) w.string(s);
  w.end_array().key("ints").begin_array();
  w.number(0).number(-1).number(std::numeric_limits<int64_t>::max()).number(std::numeric_limits<int64_t>::min());
  w.number(std::numeric_limits<uint64_t>::max()).number(static_cast<size_t>(4096)).number(int8_t{-128});
  w.end_array().key("doubles").begin_array();
  for (double d : doubles()) w.number(d);
  w.end_array();
  w.key("float").number(0.1f);
  w.key("bools").begin_array().boolean(true).boolean(false).end_array();
  w.key("null").null();
  w.key("emptyObject").begin_object().end_object();
  w.key("emptyArray").begin_array().end_array();
  w.key("nested").begin_array().begin_object().key("a").begin_array().number(1).begin_array().number(2).end_array();
  w.end_array().end_object().begin_array().end_array().end_array();
  w.key("key \"with\" \\ escapes\n").string("value");
  w.end_object();
}

/// json::parse of the document gives back the strings, the doubles (bit for bit) and the shape.
bool reparsed(const std::string& text) {
  trtn::json::Value v;
  if (!trtn::json::parse(text, &v).is_ok() || !v.is_object()) return false;
  const trtn::json::Value* s = v.get("strings");
  const trtn::json::Value* d = v.get("doubles");
  if (s == nullptr || d == nullptr || s->items().size() != strings().size() || d->items().size() != doubles().size()) {
    return false;
  }
  for (size_t i = 0; i < strings().size(); ++i) {
    if (s->items()[i].as_string() != strings()[i]) return false;
  }
  for (size_t i = 0; i < doubles().size(); ++i) {
    const double got = d->items()[i].as_number();
    if (got != doubles()[i] || std::signbit(got) != std::signbit(doubles()[i])) return false;
  }
  const trtn::json::Value* nested = v.get("nested");
  return nested != nullptr && nested->items().size() == 2 && v.get("key \"with\" \\ escapes\n") != nullptr;
}

void write_refusal(Writer& out, const std::function<void(Writer&)>& misuse) {
  Writer w;
  misuse(w);
  std::string finished;
  const trtn::Status st = w.finish(&finished);
  out.begin_object()
      .key("code").string(trtn::code_name(st.code()))
      .key("message").string(st.message())
      .key("text").string(w.text())
      .end_object();
}

}  // namespace

int main() {
  Writer doc;
  write_doc(doc);
  std::string text;
  const trtn::Status st = doc.finish(&text);

  Writer w;
  w.begin_object().key("status").string(trtn::code_name(st.code())).key("docText").string(text).key("doc");
  write_doc(w);
  w.key("doubleTexts").begin_array();
  for (double d : doubles()) {
    Writer one;
    one.number(d);
    w.string(one.text());
  }
  w.end_array().key("refused").begin_array();
  write_refusal(w, [](Writer& x) { x.begin_array().number(std::nan("")).end_array(); });
  write_refusal(w, [](Writer& x) { x.begin_array().number(HUGE_VAL).end_array(); });
  write_refusal(w, [](Writer& x) { x.begin_object().key("v").number(-HUGE_VAL).end_object(); });
  write_refusal(w, [](Writer& x) { x.begin_array().key("k").end_array(); });
  write_refusal(w, [](Writer& x) { x.begin_object().number(1).end_object(); });
  write_refusal(w, [](Writer& x) { x.begin_object().end_array(); });
  write_refusal(w, [](Writer& x) { x.begin_array().begin_object(); });
  write_refusal(w, [](Writer& x) { x.number(1).number(2); });
  write_refusal(w, [](Writer& x) { x.begin_object().key("a").end_object(); });
  w.end_array().key("reparsed").boolean(reparsed(text)).end_object();
  std::string out;
  if (!w.finish(&out).is_ok()) return 1;
  std::printf("%s\n", out.c_str());
  return 0;
}
