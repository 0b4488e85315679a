// A small JSON reader for the execution graph that lib/ hands to native code (and that plan files
// store), and the writer native code builds its JSON with (plan sections, engine details, the
// tensorrt call plan). Values are read-only trees; parse errors carry the byte offset.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "core/status.h"

namespace trtn::json {

/// One JSON value.
class Value {
 public:
  enum class Kind { kNull, kBool, kNumber, kString, kArray, kObject };

  Value() = default;
  static Value number(double v);
  static Value string(std::string v);
  static Value boolean(bool v);

  Kind kind() const { return kind_; }
  bool is_null() const { return kind_ == Kind::kNull; }
  bool is_number() const { return kind_ == Kind::kNumber; }
  bool is_string() const { return kind_ == Kind::kString; }
  bool is_bool() const { return kind_ == Kind::kBool; }
  bool is_array() const { return kind_ == Kind::kArray; }
  bool is_object() const { return kind_ == Kind::kObject; }

  double as_number() const { return number_; }
  bool as_bool() const { return bool_; }
  const std::string& as_string() const { return string_; }
  const std::vector<Value>& items() const { return array_; }
  const std::map<std::string, Value>& fields() const { return object_; }

  /// Member of an object, or nullptr (also for non-objects).
  const Value* get(const std::string& key) const;
  bool has(const std::string& key) const { return get(key) != nullptr; }

  std::vector<Value>& mutable_items() { return array_; }
  std::map<std::string, Value>& mutable_fields() { return object_; }
  void set_kind(Kind k) { kind_ = k; }

 private:
  Kind kind_ = Kind::kNull;
  bool bool_ = false;
  double number_ = 0;
  std::string string_;
  std::vector<Value> array_;
  std::map<std::string, Value> object_;
};

/// Parses `text` (UTF-8). Depth is limited to 64. Errors: kParse with the byte offset.
Status parse(const std::string& text, Value* out);

/// Typed access with checks: each returns kInvalidArgument naming `where` and the key on a
/// missing or mistyped member.
Status get_int(const Value& obj, const std::string& key, const std::string& where, int64_t* out);
Status get_double(const Value& obj, const std::string& key, const std::string& where, double* out);
Status get_bool(const Value& obj, const std::string& key, const std::string& where, bool* out);
Status get_string(const Value& obj, const std::string& key, const std::string& where, std::string* out);
Status get_ints(const Value& obj, const std::string& key, const std::string& where, std::vector<int64_t>* out);
Status get_doubles(const Value& obj, const std::string& key, const std::string& where, std::vector<double>* out);

/// Optional members: leave *out unchanged when absent; fail when present with the wrong type.
Status opt_int(const Value& obj, const std::string& key, const std::string& where, int64_t* out);
Status opt_double(const Value& obj, const std::string& key, const std::string& where, double* out);
Status opt_bool(const Value& obj, const std::string& key, const std::string& where, bool* out);
Status opt_string(const Value& obj, const std::string& key, const std::string& where, std::string* out);

/// `s` as a JSON string literal, quotes included: `"` and `\` escaped, control characters as
/// \n, \r, \t or \u00XX, every other byte (UTF-8 included) as it is.
std::string quote(const std::string& s);

/// Builds compact JSON text (no whitespace) value by value, e.g.
///   w.begin_object().key("sm").number(90).key("device").string(name).end_object();
/// Strings are escaped as quote() does; integers are written exactly; doubles as the shortest
/// text that reads back as the same double. Inside an object every value follows key(). Misuse
/// never aborts: a non-finite double is refused (null is written in its place) and a key outside
/// an object, a value without a key or a mismatched end is recorded; status() reports the first.
class Writer {
 public:
  Writer& begin_object();
  Writer& end_object();
  Writer& begin_array();
  Writer& end_array();
  /// The key of the next value (objects only).
  Writer& key(const std::string& k);
  Writer& string(const std::string& v);
  /// Any integer type, exactly (int64 and uint64 included).
  template <typename T, std::enable_if_t<std::is_integral_v<T> && !std::is_same_v<T, bool>, int> = 0>
  Writer& number(T v) {
    return raw(std::to_string(v));
  }
  /// A finite double, shortest round-trip form; NaN and infinities are refused.
  Writer& number(double v);
  Writer& boolean(bool v);
  Writer& null();
  /// A parsed value, whole (objects in key order).
  Writer& value(const Value& v);

  /// Ok, or kInternal naming the first refused number or misuse.
  const Status& status() const { return status_; }
  /// The text written so far.
  const std::string& text() const { return text_; }
  /// The finished text; kInternal when status() is not ok or a container is still open.
  Status finish(std::string* out) const;

 private:
  /// Writes one value's text after the separator its position needs.
  Writer& raw(const std::string& value_text);
  /// The comma before an item of the innermost container, when it is not the first.
  void separate();
  void fail(const std::string& what);

  std::string text_;
  std::vector<char> open_;      // '{' or '[' per open container
  std::vector<bool> has_item_;  // per open container
  bool after_key_ = false;
  Status status_;
};

}  // namespace trtn::json
