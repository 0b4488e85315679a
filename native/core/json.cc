#include "core/json.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <utility>

namespace trtn::json {

Value Value::number(double v) {
  Value out;
  out.kind_ = Kind::kNumber;
  out.number_ = v;
  return out;
}

Value Value::string(std::string v) {
  Value out;
  out.kind_ = Kind::kString;
  out.string_ = std::move(v);
  return out;
}

Value Value::boolean(bool v) {
  Value out;
  out.kind_ = Kind::kBool;
  out.bool_ = v;
  return out;
}

const Value* Value::get(const std::string& key) const {
  if (kind_ != Kind::kObject) return nullptr;
  auto it = object_.find(key);
  return it == object_.end() ? nullptr : &it->second;
}

namespace {

constexpr int kMaxDepth = 64;

class Parser {
 public:
  explicit Parser(const std::string& text) : s_(text) {}

  Status parse(Value* out) {
    TRTN_TRY(value(out, 0));
    skip_space();
    if (pos_ != s_.size()) return error("trailing characters after the JSON value");
    return Status::ok();
  }

 private:
  Status error(const std::string& what) const {
    return Status(Code::kParse, "JSON: " + what + " at byte " + std::to_string(pos_));
  }

  void skip_space() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\n' || s_[pos_] == '\r' || s_[pos_] == '\t')) ++pos_;
  }

  bool literal(const char* word) {
    size_t n = 0;
    while (word[n] != '\0') ++n;
    if (s_.compare(pos_, n, word) != 0) return false;
    pos_ += n;
    return true;
  }

  Status value(Value* out, int depth) {
    if (depth > kMaxDepth) return error("nesting deeper than 64");
    skip_space();
    if (pos_ >= s_.size()) return error("unexpected end");
    char c = s_[pos_];
    if (c == '{') return object(out, depth);
    if (c == '[') return array(out, depth);
    if (c == '"') {
      std::string str;
      Status st = string(&str);
      if (st.is_ok()) *out = Value::string(std::move(str));
      return st;
    }
    if (literal("true")) {
      *out = Value::boolean(true);
      return Status::ok();
    }
    if (literal("false")) {
      *out = Value::boolean(false);
      return Status::ok();
    }
    if (literal("null")) {
      *out = Value();
      return Status::ok();
    }
    return number(out);
  }

  Status number(Value* out) {
    const char* begin = s_.c_str() + pos_;
    char* end = nullptr;
    double v = std::strtod(begin, &end);
    if (end == begin) return error("expected a value");
    pos_ += static_cast<size_t>(end - begin);
    if (!std::isfinite(v)) return error("number out of range");
    *out = Value::number(v);
    return Status::ok();
  }

  Status string(std::string* out) {
    ++pos_;  // opening quote
    while (pos_ < s_.size()) {
      char c = s_[pos_++];
      if (c == '"') return Status::ok();
      if (c != '\\') {
        out->push_back(c);
        continue;
      }
      if (pos_ >= s_.size()) break;
      char e = s_[pos_++];
      switch (e) {
        case '"': out->push_back('"'); break;
        case '\\': out->push_back('\\'); break;
        case '/': out->push_back('/'); break;
        case 'b': out->push_back('\b'); break;
        case 'f': out->push_back('\f'); break;
        case 'n': out->push_back('\n'); break;
        case 'r': out->push_back('\r'); break;
        case 't': out->push_back('\t'); break;
        case 'u': {
          if (pos_ + 4 > s_.size()) return error("short \\u escape");
          unsigned code = static_cast<unsigned>(std::strtoul(s_.substr(pos_, 4).c_str(), nullptr, 16));
          pos_ += 4;
          if (code >= 0xD800 && code <= 0xDBFF && pos_ + 6 <= s_.size() && s_[pos_] == '\\' && s_[pos_ + 1] == 'u') {
            unsigned low = static_cast<unsigned>(std::strtoul(s_.substr(pos_ + 2, 4).c_str(), nullptr, 16));
            pos_ += 6;
            code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00);
          }
          append_utf8(code, out);
          break;
        }
        default: return error("bad escape in string");
      }
    }
    return error("unterminated string");
  }

  static void append_utf8(unsigned code, std::string* out) {
    if (code < 0x80) {
      out->push_back(static_cast<char>(code));
    } else if (code < 0x800) {
      out->push_back(static_cast<char>(0xC0 | (code >> 6)));
      out->push_back(static_cast<char>(0x80 | (code & 0x3F)));
    } else if (code < 0x10000) {
      out->push_back(static_cast<char>(0xE0 | (code >> 12)));
      out->push_back(static_cast<char>(0x80 | ((code >> 6) & 0x3F)));
      out->push_back(static_cast<char>(0x80 | (code & 0x3F)));
    } else {
      out->push_back(static_cast<char>(0xF0 | (code >> 18)));
      out->push_back(static_cast<char>(0x80 | ((code >> 12) & 0x3F)));
      out->push_back(static_cast<char>(0x80 | ((code >> 6) & 0x3F)));
      out->push_back(static_cast<char>(0x80 | (code & 0x3F)));
    }
  }

  Status array(Value* out, int depth) {
    ++pos_;
    out->set_kind(Value::Kind::kArray);
    skip_space();
    if (pos_ < s_.size() && s_[pos_] == ']') {
      ++pos_;
      return Status::ok();
    }
    for (;;) {
      Value item;
      TRTN_TRY(value(&item, depth + 1));
      out->mutable_items().push_back(std::move(item));
      skip_space();
      if (pos_ >= s_.size()) return error("unterminated array");
      char c = s_[pos_++];
      if (c == ']') return Status::ok();
      if (c != ',') return error("expected ',' or ']'");
    }
  }

  Status object(Value* out, int depth) {
    ++pos_;
    out->set_kind(Value::Kind::kObject);
    skip_space();
    if (pos_ < s_.size() && s_[pos_] == '}') {
      ++pos_;
      return Status::ok();
    }
    for (;;) {
      skip_space();
      if (pos_ >= s_.size() || s_[pos_] != '"') return error("expected a member name");
      std::string key;
      TRTN_TRY(string(&key));
      skip_space();
      if (pos_ >= s_.size() || s_[pos_] != ':') return error("expected ':'");
      ++pos_;
      Value item;
      TRTN_TRY(value(&item, depth + 1));
      out->mutable_fields()[key] = std::move(item);
      skip_space();
      if (pos_ >= s_.size()) return error("unterminated object");
      char c = s_[pos_++];
      if (c == '}') return Status::ok();
      if (c != ',') return error("expected ',' or '}'");
    }
  }

  const std::string& s_;
  size_t pos_ = 0;
};

Status missing(const std::string& where, const std::string& key, const char* what) {
  return Status(Code::kInvalidArgument, where + ": '" + key + "' must be " + what);
}

}  // namespace

Status parse(const std::string& text, Value* out) { return Parser(text).parse(out); }

Status opt_double(const Value& obj, const std::string& key, const std::string& where, double* out) {
  const Value* v = obj.get(key);
  if (v == nullptr) return Status::ok();
  if (!v->is_number()) return missing(where, key, "a number");
  *out = v->as_number();
  return Status::ok();
}

Status opt_int(const Value& obj, const std::string& key, const std::string& where, int64_t* out) {
  const Value* v = obj.get(key);
  if (v == nullptr) return Status::ok();
  double d = v->is_number() ? v->as_number() : 0.5;
  if (!v->is_number() || d != std::floor(d) || std::fabs(d) > 9007199254740991.0)
    return missing(where, key, "an integer");
  *out = static_cast<int64_t>(d);
  return Status::ok();
}

Status opt_bool(const Value& obj, const std::string& key, const std::string& where, bool* out) {
  const Value* v = obj.get(key);
  if (v == nullptr) return Status::ok();
  if (!v->is_bool()) return missing(where, key, "true or false");
  *out = v->as_bool();
  return Status::ok();
}

Status opt_string(const Value& obj, const std::string& key, const std::string& where, std::string* out) {
  const Value* v = obj.get(key);
  if (v == nullptr) return Status::ok();
  if (!v->is_string()) return missing(where, key, "a string");
  *out = v->as_string();
  return Status::ok();
}

Status get_double(const Value& obj, const std::string& key, const std::string& where, double* out) {
  if (!obj.has(key)) return missing(where, key, "a number");
  return opt_double(obj, key, where, out);
}

Status get_int(const Value& obj, const std::string& key, const std::string& where, int64_t* out) {
  if (!obj.has(key)) return missing(where, key, "an integer");
  return opt_int(obj, key, where, out);
}

Status get_bool(const Value& obj, const std::string& key, const std::string& where, bool* out) {
  if (!obj.has(key)) return missing(where, key, "true or false");
  return opt_bool(obj, key, where, out);
}

Status get_string(const Value& obj, const std::string& key, const std::string& where, std::string* out) {
  if (!obj.has(key)) return missing(where, key, "a string");
  return opt_string(obj, key, where, out);
}

Status get_ints(const Value& obj, const std::string& key, const std::string& where, std::vector<int64_t>* out) {
  const Value* v = obj.get(key);
  if (v == nullptr || !v->is_array()) return missing(where, key, "a list of integers");
  out->clear();
  for (const Value& item : v->items()) {
    double d = item.is_number() ? item.as_number() : 0.5;
    if (!item.is_number() || d != std::floor(d) || std::fabs(d) > 9007199254740991.0) {
      return missing(where, key, "a list of integers");
    }
    out->push_back(static_cast<int64_t>(d));
  }
  return Status::ok();
}

Status get_doubles(const Value& obj, const std::string& key, const std::string& where, std::vector<double>* out) {
  const Value* v = obj.get(key);
  if (v == nullptr || !v->is_array()) return missing(where, key, "a list of numbers");
  out->clear();
  for (const Value& item : v->items()) {
    if (!item.is_number()) return missing(where, key, "a list of numbers");
    out->push_back(item.as_number());
  }
  return Status::ok();
}

namespace {

void append_quoted(const std::string& s, std::string* out) {
  out->push_back('"');
  for (unsigned char ch : s) {
    switch (ch) {
      case '"': *out += "\\\""; break;
      case '\\': *out += "\\\\"; break;
      case '\n': *out += "\\n"; break;
      case '\r': *out += "\\r"; break;
      case '\t': *out += "\\t"; break;
      default:
        if (ch < 0x20) {
          static const char* hex = "0123456789abcdef";
          *out += "\\u00";
          out->push_back(hex[ch >> 4]);
          out->push_back(hex[ch & 15]);
        } else {
          out->push_back(static_cast<char>(ch));
        }
    }
  }
  out->push_back('"');
}

/// The shortest %g text (at most 17 significant digits) that strtod reads back as `v`.
std::string shortest_double(double v) {
  char buf[32];
  for (int precision = 1; precision <= 17; ++precision) {
    std::snprintf(buf, sizeof buf, "%.*g", precision, v);
    if (std::strtod(buf, nullptr) == v) break;
  }
  return buf;
}

}  // namespace

std::string quote(const std::string& s) {
  std::string out;
  append_quoted(s, &out);
  return out;
}

void Writer::fail(const std::string& what) {
  if (status_.is_ok()) status_ = Status(Code::kInternal, "JSON writer: " + what);
}

void Writer::separate() {
  if (has_item_.empty()) return;
  if (has_item_.back()) text_.push_back(',');
  has_item_.back() = true;
}

Writer& Writer::raw(const std::string& value_text) {
  if (after_key_) {
    after_key_ = false;
  } else {
    if (!open_.empty() && open_.back() == '{') fail("a value in an object without a key");
    if (open_.empty() && !text_.empty()) fail("a second top-level value");
    separate();
  }
  text_ += value_text;
  return *this;
}

Writer& Writer::begin_object() {
  raw("{");
  open_.push_back('{');
  has_item_.push_back(false);
  return *this;
}

Writer& Writer::begin_array() {
  raw("[");
  open_.push_back('[');
  has_item_.push_back(false);
  return *this;
}

Writer& Writer::end_object() {
  if (open_.empty() || open_.back() != '{' || after_key_) {
    fail("end_object without an open object (or after a key)");
    return *this;
  }
  open_.pop_back();
  has_item_.pop_back();
  text_.push_back('}');
  return *this;
}

Writer& Writer::end_array() {
  if (open_.empty() || open_.back() != '[') {
    fail("end_array without an open array");
    return *this;
  }
  open_.pop_back();
  has_item_.pop_back();
  text_.push_back(']');
  return *this;
}

Writer& Writer::key(const std::string& k) {
  if (open_.empty() || open_.back() != '{' || after_key_) {
    fail("key '" + k + "' outside an object (or after another key)");
    return *this;
  }
  separate();
  append_quoted(k, &text_);
  text_.push_back(':');
  after_key_ = true;
  return *this;
}

Writer& Writer::string(const std::string& v) {
  std::string quoted;
  append_quoted(v, &quoted);
  return raw(quoted);
}

Writer& Writer::number(double v) {
  if (!std::isfinite(v)) {
    fail(std::string("refused the non-finite number ") +
         (std::isnan(v) ? "NaN"
          : v > 0       ? "Infinity"
                        : "-Infinity") +
         " (JSON has none); wrote null");
    return raw("null");
  }
  return raw(shortest_double(v));
}

Writer& Writer::boolean(bool v) { return raw(v ? "true" : "false"); }

Writer& Writer::null() { return raw("null"); }

Writer& Writer::value(const Value& v) {
  switch (v.kind()) {
    case Value::Kind::kNull: return null();
    case Value::Kind::kBool: return boolean(v.as_bool());
    case Value::Kind::kNumber: return number(v.as_number());
    case Value::Kind::kString: return string(v.as_string());
    case Value::Kind::kArray:
      begin_array();
      for (const Value& item : v.items()) value(item);
      return end_array();
    case Value::Kind::kObject:
      begin_object();
      for (const auto& [k, item] : v.fields()) key(k).value(item);
      return end_object();
  }
  return null();
}

Status Writer::finish(std::string* out) const {
  if (!status_.is_ok()) return status_;
  if (!open_.empty() || after_key_ || text_.empty())
    return Status(Code::kInternal, "JSON writer: the text is not one complete value");
  *out = text_;
  return Status::ok();
}

}  // namespace trtn::json
