// Entity types written in Python (python/pydsim/_types.py declares them):
// each becomes a dsim::EntityTypeInfo whose handlers call the Python
// methods, with the GIL taken for the call.
//
// The engine sees an ordinary type: a State of `itemsize` bytes (a numpy
// record; all bytes zero at the start), payloads with stable names and ids,
// statistics declared in the group's constructor. So every engine saves,
// restores, rolls back and checkpoints Python types with no code of theirs.
//
// A handler gets the entity's state as a writable 0-d record array over the
// engine's own bytes, the payload as a read-only 0-d record (a copy), and a
// Context object that is valid for the call only.
//
// A Python exception in a handler becomes a dsim::Error: the engine adds the
// entity, the event and the time; the message has the Python traceback.
#include "types.hpp"

#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include <array>
#include <cstring>
#include <dlfcn.h>
#include <filesystem>
#include <mutex>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include "dsim/context.hpp"
#include "dsim/entity.hpp"
#include "dsim/payload.hpp"
#include "dsim/setup.hpp"
#include "dsim/stats.hpp"

namespace py = pybind11;

namespace pydsim {
namespace {

// ---- payload layouts -----------------------------------------------------------------

struct Field {
  std::string name;
  std::size_t offset = 0;
  char kind = 'f';  // numpy kind: b, i, u, f
  std::size_t size = 8;
  std::size_t count = 1;  // elements (fixed-size arrays)
};

struct PayloadLayout {
  std::uint32_t id = 0;
  std::string name;
  std::size_t size = 0;
  std::vector<Field> fields;
  py::object dtype;  // kept alive with the payload type (pydsim keeps every one)
};

// Every PayloadType object seen, by address (they live as long as the
// interpreter: pydsim._types keeps them). Touched only with the GIL held.
std::unordered_map<PyObject*, PayloadLayout>& layouts() {
  static auto* map = new std::unordered_map<PyObject*, PayloadLayout>();
  return *map;
}

std::vector<Field> fields_of(const py::object& dtype) {
  std::vector<Field> out;
  py::object names = dtype.attr("names");
  if (names.is_none()) return out;
  py::dict fields = dtype.attr("fields");
  for (const py::handle& n : names) {
    py::tuple entry = fields[n];
    py::object field_dtype = entry[0];
    Field f;
    f.name = n.cast<std::string>();
    f.offset = entry[1].cast<std::size_t>();
    py::object base = field_dtype;
    if (!field_dtype.attr("subdtype").is_none()) {
      base = field_dtype.attr("base");
      f.count = field_dtype.attr("itemsize").cast<std::size_t>() /
                base.attr("itemsize").cast<std::size_t>();
    }
    f.kind = base.attr("kind").cast<std::string>().at(0);
    f.size = base.attr("itemsize").cast<std::size_t>();
    out.push_back(std::move(f));
  }
  return out;
}

const PayloadLayout& layout_of(const py::handle& payload_type) {
  auto& map = layouts();
  auto it = map.find(payload_type.ptr());
  if (it != map.end()) return it->second;
  if (!py::hasattr(payload_type, "dtype") || !py::hasattr(payload_type, "id"))
    throw py::type_error("expected a payload type (pydsim.payload(...)), not " +
                         py::repr(payload_type).cast<std::string>());
  PayloadLayout l;
  l.id = payload_type.attr("id").cast<std::uint32_t>();
  l.name = payload_type.attr("name").cast<std::string>();
  l.dtype = payload_type.attr("dtype");
  l.size = l.dtype.attr("itemsize").cast<std::size_t>();
  l.fields = fields_of(l.dtype);
  payload_type.inc_ref();  // the key stays valid
  return map.emplace(payload_type.ptr(), std::move(l)).first->second;
}

template <class T>
void put(std::byte* at, T v) {
  std::memcpy(at, &v, sizeof(T));
}

void write_scalar(std::byte* at, const Field& f, const py::handle& value) {
  switch (f.kind) {
    case 'b':
      put<std::uint8_t>(at, value.cast<bool>() ? 1 : 0);
      return;
    case 'f':
      if (f.size == 8) return put<double>(at, value.cast<double>());
      if (f.size == 4) return put<float>(at, value.cast<float>());
      break;
    case 'i': {
      const auto v = value.cast<std::int64_t>();
      if (f.size == 8) return put<std::int64_t>(at, v);
      if (f.size == 4) return put<std::int32_t>(at, static_cast<std::int32_t>(v));
      if (f.size == 2) return put<std::int16_t>(at, static_cast<std::int16_t>(v));
      if (f.size == 1) return put<std::int8_t>(at, static_cast<std::int8_t>(v));
      break;
    }
    case 'u': {
      const auto v = value.cast<std::uint64_t>();
      if (f.size == 8) return put<std::uint64_t>(at, v);
      if (f.size == 4) return put<std::uint32_t>(at, static_cast<std::uint32_t>(v));
      if (f.size == 2) return put<std::uint16_t>(at, static_cast<std::uint16_t>(v));
      if (f.size == 1) return put<std::uint8_t>(at, static_cast<std::uint8_t>(v));
      break;
    }
    default:
      break;
  }
  throw py::type_error("field '" + f.name + "': unsupported type");
}

// The bytes of a payload from keyword fields (or a record of its dtype).
void payload_bytes(const PayloadLayout& l, const py::handle& record, const py::kwargs& fields,
                   std::byte* out) {
  if (!record.is_none()) {
    py::array a = py::array::ensure(record);
    if (!a || !a.dtype().equal(py::reinterpret_borrow<py::dtype>(l.dtype)) ||
        a.nbytes() != static_cast<py::ssize_t>(l.size))
      throw py::type_error("payload " + l.name + ": the record must have the payload's dtype");
    std::memcpy(out, a.data(), l.size);
  }
  for (auto item : fields) {
    const std::string key = item.first.cast<std::string>();
    const Field* f = nullptr;
    for (const Field& x : l.fields)
      if (x.name == key) f = &x;
    if (f == nullptr) {
      std::string known;
      for (const Field& x : l.fields) known += (known.empty() ? "" : ", ") + x.name;
      throw py::key_error("payload " + l.name + " has no field '" + key +
                          "' (fields: " + (known.empty() ? "none" : known) + ")");
    }
    if (f->count == 1) {
      write_scalar(out + f->offset, *f, item.second);
    } else {
      py::sequence values = item.second.cast<py::sequence>();
      if (values.size() != f->count)
        throw py::value_error("payload " + l.name + ": field '" + key + "' holds " +
                              std::to_string(f->count) + " values, not " +
                              std::to_string(values.size()));
      for (std::size_t k = 0; k < f->count; ++k)
        write_scalar(out + f->offset + k * f->size, *f, values[k]);
    }
  }
}

// ---- what handlers see -------------------------------------------------------------------

struct StatHandle {
  std::string kind;  // counter, tally, gauge, histogram
  std::string name;
  std::uint32_t index = 0;
};

// The context of one call: valid while the call lasts.
class PyContext {
 public:
  explicit PyContext(dsim::Context* ctx) : ctx_(ctx) {}
  void invalidate() { ctx_ = nullptr; }

  dsim::Context& ctx() const {
    if (ctx_ == nullptr)
      throw py::value_error("this context belongs to a handler call that has returned");
    return *ctx_;
  }
  double now() const { return ctx().now(); }
  std::uint32_t self() const { return ctx().self(); }
  std::uint64_t index() const { return ctx().index(); }
  std::string group() const { return std::string(ctx().group_name()); }
  std::uint32_t group_first() const { return ctx().group_first(); }
  std::uint64_t group_size() const { return ctx().group_size(); }
  std::uint64_t entity_count() const { return ctx().entity_count(); }
  std::uint32_t first_of(const std::string& group) const { return ctx().group_first(group); }
  std::uint64_t size_of(const std::string& group) const { return ctx().group_size(group); }
  py::array_t<std::uint32_t> neighbours() const {
    const auto n = ctx().neighbours();
    return py::array_t<std::uint32_t>(static_cast<py::ssize_t>(n.size()), n.data());
  }
  py::array_t<double> neighbour_weights() const {
    const auto n = ctx().neighbour_weights();
    return py::array_t<double>(static_cast<py::ssize_t>(n.size()), n.data());
  }

  void send(std::uint32_t target, const py::handle& payload_type, double delay,
            const py::object& record, const py::kwargs& fields) {
    const PayloadLayout& l = layout_of(payload_type);
    alignas(8) std::byte bytes[dsim::kMaxPayloadBytes] = {};
    payload_bytes(l, record, fields, bytes);
    ctx().send_payload(target, l.id, bytes, l.size, delay);
  }

  void add(const StatHandle& h, double amount) {
    check(h, "counter", "add");
    ctx().add(dsim::Counter{h.index}, amount);
  }
  void record(const StatHandle& h, double value) {
    if (h.kind == "tally")
      ctx().record(dsim::Tally{h.index}, value);
    else if (h.kind == "histogram")
      ctx().record(dsim::Histogram{h.index}, value);
    else
      throw py::type_error("record() takes a tally or a histogram, not the " + h.kind + " '" +
                           h.name + "'");
  }
  void set(const StatHandle& h, double level) {
    check(h, "gauge", "set");
    ctx().set(dsim::Gauge{h.index}, level);
  }
  double level(const StatHandle& h) const {
    check(h, "gauge", "level");
    return ctx().level(dsim::Gauge{h.index});
  }
  double value(const StatHandle& h) const {
    check(h, "counter", "value");
    return ctx().value(dsim::Counter{h.index});
  }
  [[noreturn]] void fail(const std::string& message) const { ctx().fail(message); }

  // The entity's random stream (the C++ Random's distributions).
  dsim::Random& rng() const { return ctx().rng(); }

 private:
  static void check(const StatHandle& h, const char* kind, const char* what) {
    if (h.kind != kind)
      throw py::type_error(std::string(what) + "() takes a " + kind + ", not the " + h.kind +
                           " '" + h.name + "'");
  }
  dsim::Context* ctx_;
};

// A distribution parameter: draw(ctx) samples it from the entity's stream.
// Compiled code keeps its bytes among the group's constants (dsim_jit_sample).
struct PyDistribution {
  dsim::Distribution d;
};
static_assert(std::is_trivially_copyable_v<dsim::Distribution>);

// What a group's constructor sees.
class PySetup {
 public:
  PySetup(dsim::Setup* setup, const std::vector<std::pair<std::string, std::string>>* kinds)
      : setup_(setup), kinds_(kinds) {}
  void invalidate() { setup_ = nullptr; }
  dsim::Setup& s() const {
    if (setup_ == nullptr) throw py::value_error("setup is only valid in __init__");
    return *setup_;
  }
  std::string group() const { return std::string(s().group()); }
  std::uint64_t count() const { return s().count(); }
  py::object param(const std::string& name) const {
    for (const auto& [n, kind] : *kinds_) {
      if (n != name) continue;
      if (kind == "bool") return py::bool_(s().param_bool(name));
      if (kind == "int") return py::int_(s().param_int(name));
      if (kind == "real") return py::float_(s().param_real(name));
      if (kind == "string") return py::str(s().param_string(name));
      return py::cast(PyDistribution{s().param_distribution(name)});
    }
    std::string known;
    for (const auto& [n, kind] : *kinds_) known += (known.empty() ? "" : ", ") + n;
    throw py::key_error("no parameter '" + name + "' (parameters: " +
                        (known.empty() ? "none" : known) + ")");
  }
  StatHandle counter(std::string name, std::string doc) {
    return {"counter", name, s().counter(name, std::move(doc)).index};
  }
  StatHandle tally(std::string name, std::string doc) {
    return {"tally", name, s().tally(name, std::move(doc)).index};
  }
  StatHandle gauge(std::string name, std::string doc) {
    return {"gauge", name, s().gauge(name, std::move(doc)).index};
  }
  StatHandle histogram(std::string name, double lo, double hi, std::uint32_t bins,
                       std::string doc) {
    if (!(lo < hi) || bins < 1 || bins > 1'000'000)
      throw py::value_error("histogram '" + name + "': needs lo < hi and 1 to 1,000,000 bins");
    return {"histogram", name, s().histogram(name, lo, hi, bins, std::move(doc)).index};
  }

 private:
  dsim::Setup* setup_;
  const std::vector<std::pair<std::string, std::string>>* kinds_;
};

// ---- the type and its behaviour -----------------------------------------------------

// "Python type NAME: HEAD" and, when TEXT says more (a traceback), TEXT.
std::string fmt_error(const std::string& type, const std::string& head, const std::string& text) {
  if (head == text) return "Python type " + type + ": " + head;
  return "Python type " + type + ": " + head + "\n" + text;
}

// Records without fields are all alike: one object serves every call
// (None for a dtype with fields).
py::object empty_record(const py::object& dtype) {
  if (dtype.attr("itemsize").cast<std::size_t>() != 0) return py::none();
  return py::module_::import("numpy").attr("zeros")(py::tuple(), dtype)[py::tuple()];
}

struct PyType {
  // One handler: its payload (name, record dtype, the shared record when
  // it has no fields) and the method's name.
  struct Handler {
    std::string payload;
    py::object record;
    py::object empty;
    std::string method;
  };
  std::string name;
  py::object def;  // pydsim._types.TypeDef
  py::object state_dtype;
  py::object empty_state;
  std::vector<std::pair<std::string, std::string>> param_kinds;  // name, kind
  std::vector<Handler> handlers;
  bool init = false, finish = false;
  bool jit = false;  // some methods are @pydsim.jit: compiled per group
};

// A compiled (Numba) handler: runs without the GIL. `self` is the group's
// constants as a record (the constructor's numbers and statistics).
using JitHandler = void (*)(void* state, const void* payload, void* ctx, const void* self);
using JitHook = void (*)(void* state, void* ctx, const void* self);

struct Behaviour {
  std::shared_ptr<const PyType> type;
  py::object instance;
  std::vector<py::object> handlers;  // bound methods, by handler index
  py::object init, finish;
  // @pydsim.jit: compiled handlers (null where a method is plain Python),
  // and the bytes of the group's constants they read.
  std::vector<JitHandler> jit;
  JitHook jit_init = nullptr, jit_finish = nullptr;
  std::vector<std::uint64_t> self_bytes;  // 8-aligned
  py::object keep;  // the compiled functions (their code must stay loaded)

  std::string error_text(py::error_already_set& e) const;
  void call(const py::object& method, void* state, const py::object* payload,
            dsim::Context& ctx) const;
};

// The entity's state: a numpy record that is a view of the engine's bytes
// (valid for the call; the base keeps nothing alive).
py::object state_view(const PyType& t, void* state) {
  if (!t.empty_state.is_none()) return t.empty_state;
  py::array a(py::reinterpret_borrow<py::dtype>(t.state_dtype), std::vector<py::ssize_t>{},
              std::vector<py::ssize_t>{}, state, py::none());
  return a[py::tuple()];
}

std::string Behaviour::error_text(py::error_already_set& e) const {
  std::string text;
  try {
    py::module_ tb = py::module_::import("traceback");
    py::list lines = tb.attr("format_exception")(e.type(), e.value(), e.trace());
    for (const py::handle& l : lines) text += l.cast<std::string>();
  } catch (...) {
    text = e.what();
  }
  while (!text.empty() && text.back() == '\n') text.pop_back();
  // The last line (TypeError: ...) first, then the traceback.
  const std::size_t last = text.rfind('\n');
  const std::string head = last == std::string::npos ? text : text.substr(last + 1);
  return fmt_error(type->name, head, text);
}

void Behaviour::call(const py::object& method, void* state, const py::object* payload,
                     dsim::Context& ctx) const {
  py::object context = py::cast(PyContext(&ctx));
  try {
    py::object st = state_view(*type, state);
    if (payload != nullptr)
      method(st, *payload, context);
    else
      method(st, context);
  } catch (py::error_already_set& e) {
    context.cast<PyContext&>().invalidate();
    if (e.matches(run_error_type()) || e.matches(input_error_type())) {
      // dsim's own error (ctx.fail, a bad send): as it was.
      const bool input = e.matches(input_error_type()) && !e.matches(run_error_type());
      throw dsim::Error(py::str(e.value()).cast<std::string>(),
                        input ? dsim::Error::Kind::kInput : dsim::Error::Kind::kRuntime);
    }
    throw dsim::Error(error_text(e));  // kInput: the engine names entity, event, time
  }
  context.cast<PyContext&>().invalidate();
}

// The GIL for a handler call. A worker thread keeps one Python thread state
// for its whole life (made by PyGILState_Ensure the first time, released
// when the thread ends), so a call costs a lock handover, not the making and
// unmaking of a thread state (tens of microseconds).
class HandlerGil {
 public:
  HandlerGil() {
    if (PyGILState_Check()) return;  // this thread holds it already
    PyEval_RestoreThread(thread().state);
    taken_ = true;
  }
  ~HandlerGil() {
    if (taken_) PyEval_SaveThread();
  }
  HandlerGil(const HandlerGil&) = delete;
  HandlerGil& operator=(const HandlerGil&) = delete;

 private:
  struct Thread {
    PyGILState_STATE gil;
    PyThreadState* state;
    Thread() {
      gil = PyGILState_Ensure();
      state = PyEval_SaveThread();
    }
    ~Thread() {
      if (!Py_IsInitialized() || _Py_IsFinalizing()) return;
      PyEval_RestoreThread(state);
      PyGILState_Release(gil);
    }
  };
  static Thread& thread() {
    thread_local Thread t;
    return t;
  }
  bool taken_ = false;
};

// An error a compiled handler met (a bad send, ctx.fail): kept until the
// handler returns (no C++ exception may cross Numba's frames), then thrown.
thread_local std::string jit_error;
thread_local bool jit_failed = false;

void after_jit() {
  if (!jit_failed) return;
  jit_failed = false;
  throw dsim::Error(std::exchange(jit_error, {}), dsim::Error::Kind::kRuntime);
}

template <std::size_t I>
void call_handler(const void* b, void* state, const void* payload, dsim::Context& ctx) {
  const auto* behaviour = static_cast<const Behaviour*>(b);
  if (!behaviour->jit.empty() && behaviour->jit[I] != nullptr) {
    behaviour->jit[I](state, payload, &ctx, behaviour->self_bytes.data());
    return after_jit();
  }
  HandlerGil gil;
  const PyType& t = *behaviour->type;
  const PyType::Handler& h = t.handlers[I];
  if (!h.empty.is_none()) {
    behaviour->call(behaviour->handlers[I], state, &h.empty, ctx);
    return;
  }
  // The payload: a read-only record (a copy: the engine's bytes may move
  // after the call).
  py::array p(py::reinterpret_borrow<py::dtype>(h.record), std::vector<py::ssize_t>{},
              std::vector<py::ssize_t>{}, payload);
  py::detail::array_proxy(p.ptr())->flags &= ~py::detail::npy_api::NPY_ARRAY_WRITEABLE_;
  py::object po = p[py::tuple()];
  behaviour->call(behaviour->handlers[I], state, &po, ctx);
}

void call_init(const void* b, void* state, dsim::Context& ctx) {
  const auto* behaviour = static_cast<const Behaviour*>(b);
  if (behaviour->jit_init != nullptr) {
    behaviour->jit_init(state, &ctx, behaviour->self_bytes.data());
    return after_jit();
  }
  HandlerGil gil;
  behaviour->call(behaviour->init, state, nullptr, ctx);
}

void call_finish(const void* b, void* state, dsim::Context& ctx) {
  const auto* behaviour = static_cast<const Behaviour*>(b);
  if (behaviour->jit_finish != nullptr) {
    behaviour->jit_finish(state, &ctx, behaviour->self_bytes.data());
    return after_jit();
  }
  HandlerGil gil;
  behaviour->call(behaviour->finish, state, nullptr, ctx);
}

constexpr std::size_t kMaxHandlers = 32;
using HandlerFn = void (*)(const void*, void*, const void*, dsim::Context&);

template <std::size_t... I>
constexpr std::array<HandlerFn, sizeof...(I)> handler_table(std::index_sequence<I...>) {
  return {&call_handler<I>...};
}
constexpr auto kHandlers = handler_table(std::make_index_sequence<kMaxHandlers>{});

dsim::EntityTypeInfo::BehaviourPtr make_behaviour(const std::shared_ptr<const PyType>& type,
                                                  dsim::Setup& setup) {
  py::gil_scoped_acquire gil;
  auto* b = new Behaviour();
  dsim::EntityTypeInfo::BehaviourPtr owned(b, [](void* p) {
    if (!Py_IsInitialized()) return;
    py::gil_scoped_acquire g;
    delete static_cast<Behaviour*>(p);
  });
  b->type = type;
  py::object s = py::cast(PySetup(&setup, &type->param_kinds));
  try {
    b->instance = type->def.attr("cls")(s);
  } catch (py::error_already_set& e) {
    s.cast<PySetup&>().invalidate();
    if (e.matches(run_error_type()) || e.matches(input_error_type()))
      throw dsim::Error(py::str(e.value()).cast<std::string>());
    throw dsim::Error(fmt_error(type->name, "in __init__", b->error_text(e)));
  }
  s.cast<PySetup&>().invalidate();
  for (const PyType::Handler& h : type->handlers)
    b->handlers.push_back(b->instance.attr(h.method.c_str()));
  if (type->init) b->init = b->instance.attr("init");
  if (type->finish) b->finish = b->instance.attr("finish");
  if (type->jit) {
    // pydsim._jit compiles the @pydsim.jit methods for this group's
    // constants and name: (self bytes, handler addresses by index, init,
    // finish, keep).
    py::tuple compiled;
    try {
      compiled = type->def.attr("compile")(b->instance, std::string(setup.group()));
    } catch (py::error_already_set& e) {
      if (e.matches(run_error_type()) || e.matches(input_error_type()))
        throw dsim::Error(py::str(e.value()).cast<std::string>());
      throw dsim::Error(fmt_error(type->name, "compiling its handlers", b->error_text(e)));
    }
    const std::string self = compiled[0].cast<std::string>();
    b->self_bytes.assign((self.size() + 7) / 8 + 1, 0);
    std::memcpy(b->self_bytes.data(), self.data(), self.size());
    for (const py::handle& a : compiled[1]) {
      const auto address = a.cast<std::uintptr_t>();
      b->jit.push_back(reinterpret_cast<JitHandler>(address));
    }
    b->jit_init = reinterpret_cast<JitHook>(compiled[2].cast<std::uintptr_t>());
    b->jit_finish = reinterpret_cast<JitHook>(compiled[3].cast<std::uintptr_t>());
    b->keep = compiled[4];
  }
  return owned;
}

}  // namespace


void add_python_type(dsim::Registry& registry, const py::handle& def) {
  const std::string name = def.attr("name").cast<std::string>();
  if (registry.find(name) != nullptr) return;
  auto type = gil_shared(new PyType());
  type->name = name;
  type->def = py::reinterpret_borrow<py::object>(def);
  type->state_dtype = def.attr("state_record");
  type->empty_state = empty_record(type->state_dtype);
  const std::size_t align = type->state_dtype.attr("alignment").cast<std::size_t>();

  dsim::EntityTypeInfo info;
  info.name = name;
  info.doc = def.attr("doc").cast<std::string>();
  info.language = "Python";
  // Plain Python calls take the GIL; a type whose handlers are all
  // compiled runs on every thread.
  info.serial = !(py::hasattr(def, "all_jit") && def.attr("all_jit").cast<bool>());
  for (const py::handle& p : def.attr("params")) {
    py::tuple t = p.cast<py::tuple>();
    const std::string pname = t[0].cast<std::string>();
    const std::string kind = t[1].cast<std::string>();
    const std::string doc = t[3].cast<std::string>();
    const py::object dflt = t[2];
    type->param_kinds.emplace_back(pname, kind);
    if (dflt.is_none()) {
      if (kind == "bool") info.params.required<bool>(pname, doc);
      else if (kind == "int") info.params.required<std::int64_t>(pname, doc);
      else if (kind == "real") info.params.required<double>(pname, doc);
      else if (kind == "string") info.params.required<std::string>(pname, doc);
      else info.params.required<dsim::Distribution>(pname, doc);
    } else if (kind == "bool") {
      info.params.add(pname, dflt.cast<bool>(), doc);
    } else if (kind == "int") {
      info.params.add(pname, dflt.cast<std::int64_t>(), doc);
    } else if (kind == "real") {
      info.params.add(pname, dflt.cast<double>(), doc);
    } else if (kind == "string") {
      info.params.add(pname, dflt.cast<std::string>().c_str(), doc);
    } else {
      info.params.add_distribution(pname, dflt.cast<std::string>(), doc);
    }
  }
  info.state_size = type->state_dtype.attr("itemsize").cast<std::size_t>();
  info.state_align = std::max<std::size_t>(1, align);
  info.construct_state = [](void*) {};  // the engine zeroes every block
  py::list handlers = def.attr("handlers");
  if (handlers.size() > kMaxHandlers)
    throw dsim::Error("Python type " + name + ": more than " + std::to_string(kMaxHandlers) +
                      " payload types");
  for (const py::handle& h : handlers) {
    py::tuple t = h.cast<py::tuple>();
    py::object record = t[0].attr("record");
    type->handlers.push_back({t[0].attr("name").cast<std::string>(), record,
                              empty_record(record), t[1].cast<std::string>()});
  }
  type->jit = py::hasattr(def, "jit") && def.attr("jit").cast<bool>();
  type->init = !def.attr("init").is_none();
  type->finish = !def.attr("finish").is_none();
  for (std::size_t i = 0; i < type->handlers.size(); ++i) {
    const PyType::Handler& h = type->handlers[i];
    dsim::EntityTypeInfo::Handler handler;
    handler.type_id = dsim::payload_id_of(h.payload);
    handler.type_name = h.payload;  // the PyType (the type's owner) keeps the string
    handler.payload_size = static_cast<std::uint32_t>(h.record.attr("itemsize").cast<std::size_t>());
    handler.call = kHandlers[i];
    handler.cpp_name = "(a Python payload)";
    info.handlers.push_back(handler);
  }
  if (type->init) info.init = &call_init;
  if (type->finish) info.finish = &call_finish;
  std::shared_ptr<const PyType> shared = type;
  info.make = [shared](dsim::Setup& setup) { return make_behaviour(shared, setup); };
  info.owner = shared;
  registry.add_type(std::move(info));
}

void add_python_types(dsim::Registry& registry) {
  py::module_ types = py::module_::import("pydsim._types");
  for (const py::handle& def : types.attr("registered")()) add_python_type(registry, def);
}

void load_python_script(dsim::Registry& registry, const std::string& path) {
  py::module_ types = py::module_::import("pydsim._types");
  try {
    types.attr("load_script")(path);
  } catch (py::error_already_set& e) {
    if (e.matches(input_error_type()) || e.matches(run_error_type()))
      throw dsim::Error(py::str(e.value()).cast<std::string>());
    throw dsim::Error("plugin '" + path + "': " + std::string(e.what()));
  }
  add_python_types(registry);
}

void enable_python_types(dsim::Registry& registry) {
  registry.set_script_loader([](dsim::Registry& r, const std::string& path) {
    py::gil_scoped_acquire gil;
    load_python_script(r, path);
  });
  add_python_types(registry);
}

void bind_types(py::module_& m) {
  py::class_<StatHandle>(m, "Statistic")
      .def_readonly("kind", &StatHandle::kind)
      .def_readonly("name", &StatHandle::name)
      .def_readonly("index", &StatHandle::index)
      .def("__repr__", [](const StatHandle& h) {
        return "<pydsim " + h.kind + " '" + h.name + "'>";
      });
  py::class_<PyDistribution>(m, "Distribution")
      .def("__call__", [](const PyDistribution& d, PyContext& c) { return d.d.sample(c.rng()); },
           py::arg("ctx"), "A draw from the entity's random stream.")
      .def_property_readonly("mean", [](const PyDistribution& d) { return d.d.mean(); })
      .def_property_readonly(
          "_bytes",
          [](const PyDistribution& d) {
            return py::bytes(reinterpret_cast<const char*>(&d.d), sizeof(dsim::Distribution));
          },
          "The value's bytes, for compiled code (dsim_jit_sample).")
      .def("__repr__", [](const PyDistribution& d) { return d.d.to_string(); });
  py::class_<PySetup>(m, "Setup")
      .def_property_readonly("group", &PySetup::group)
      .def_property_readonly("count", &PySetup::count)
      .def("param", &PySetup::param, py::arg("name"))
      .def("counter", &PySetup::counter, py::arg("name"), py::arg("doc") = "")
      .def("tally", &PySetup::tally, py::arg("name"), py::arg("doc") = "")
      .def("gauge", &PySetup::gauge, py::arg("name"), py::arg("doc") = "")
      .def("histogram", &PySetup::histogram, py::arg("name"), py::arg("lo"), py::arg("hi"),
           py::arg("bins"), py::arg("doc") = "");
  py::class_<PyContext>(m, "Context")
      .def_property_readonly("now", &PyContext::now)
      .def_property_readonly("self", &PyContext::self)
      .def_property_readonly("index", &PyContext::index)
      .def_property_readonly("group", &PyContext::group)
      .def_property_readonly("group_first", &PyContext::group_first)
      .def_property_readonly("group_size", &PyContext::group_size)
      .def_property_readonly("entity_count", &PyContext::entity_count)
      .def_property_readonly("neighbours", &PyContext::neighbours)
      .def_property_readonly("neighbour_weights", &PyContext::neighbour_weights)
      // ctx.rng is the context itself, seen as the entity's random stream
      // (no object to make per call): ctx.rng.exponential(2.0).
      .def_property_readonly("rng", [](py::object self) { return self; })
      .def("uniform", [](const PyContext& c) { return c.rng().uniform(); })
      .def("uniform", [](const PyContext& c, double lo, double hi) { return c.rng().uniform(lo, hi); },
           py::arg("lo"), py::arg("hi"))
      .def("uniform_pos", [](const PyContext& c) { return c.rng().uniform_pos(); })
      .def("exponential", [](const PyContext& c, double mean) { return c.rng().exponential(mean); },
           py::arg("mean"))
      .def("normal",
           [](const PyContext& c, double mean, double sd) { return c.rng().normal(mean, sd); },
           py::arg("mean") = 0.0, py::arg("stddev") = 1.0)
      .def("lognormal",
           [](const PyContext& c, double mu, double sigma) { return c.rng().lognormal(mu, sigma); },
           py::arg("mu"), py::arg("sigma"))
      .def("bernoulli", [](const PyContext& c, double p) { return c.rng().bernoulli(p); },
           py::arg("p"))
      .def("integer",
           [](const PyContext& c, std::int64_t lo, std::int64_t hi) { return c.rng().integer(lo, hi); },
           py::arg("lo"), py::arg("hi"))
      .def("below", [](const PyContext& c, std::uint64_t n) { return c.rng().below(n); },
           py::arg("n"))
      .def("poisson", [](const PyContext& c, double mean) { return c.rng().poisson(mean); },
           py::arg("mean"))
      .def("bits", [](const PyContext& c) { return c.rng().bits(); })
      .def("first_of", &PyContext::first_of, py::arg("group"))
      .def("size_of", &PyContext::size_of, py::arg("group"))
      .def("send", &PyContext::send, py::arg("target"), py::arg("payload"), py::arg("delay"),
           py::arg("record") = py::none())
      .def("add", &PyContext::add, py::arg("counter"), py::arg("amount") = 1.0)
      .def("record", &PyContext::record, py::arg("statistic"), py::arg("value"))
      .def("set", &PyContext::set, py::arg("gauge"), py::arg("level"))
      .def("level", &PyContext::level, py::arg("gauge"))
      .def("value", &PyContext::value, py::arg("counter"))
      .def("fail", &PyContext::fail, py::arg("message"));
}

}  // namespace pydsim

// ---- the context for compiled handlers -------------------------------------------
// Plain C functions a Numba-compiled handler calls (pydsim/_jit.py binds
// them by address): each takes the handler's dsim::Context*. None throws:
// an error is kept for the bridge to throw once the handler returned.
#define DSIM_JIT extern "C" __attribute__((visibility("default")))
namespace {
dsim::Context& jctx(void* c) { return *static_cast<dsim::Context*>(c); }
template <class F>
void guarded(F&& f) {
  if (pydsim::jit_failed) return;  // the first error wins; the rest of the handler is moot
  try {
    f();
  } catch (const std::exception& e) {
    pydsim::jit_failed = true;
    pydsim::jit_error = e.what();
  }
}
}  // namespace

DSIM_JIT double dsim_jit_now(void* c) { return jctx(c).now(); }
DSIM_JIT std::uint32_t dsim_jit_self(void* c) { return jctx(c).self(); }
DSIM_JIT std::uint64_t dsim_jit_index(void* c) { return jctx(c).index(); }
DSIM_JIT std::uint32_t dsim_jit_group_first(void* c) { return jctx(c).group_first(); }
DSIM_JIT std::uint64_t dsim_jit_group_size(void* c) { return jctx(c).group_size(); }
DSIM_JIT std::uint64_t dsim_jit_entity_count(void* c) { return jctx(c).entity_count(); }
// A group by name (`size` bytes of UTF-8): an unknown one fails the handler.
DSIM_JIT std::uint32_t dsim_jit_first_of(void* c, const char* group, std::uint64_t size) {
  std::uint32_t first = dsim::kNoEntity;
  guarded([&] { first = jctx(c).group_first(std::string_view(group, size)); });
  return first;
}
DSIM_JIT std::uint64_t dsim_jit_size_of(void* c, const char* group, std::uint64_t size) {
  std::uint64_t count = 0;
  guarded([&] { count = jctx(c).group_size(std::string_view(group, size)); });
  return count;
}
DSIM_JIT std::uint64_t dsim_jit_neighbour_count(void* c) { return jctx(c).neighbours().size(); }
DSIM_JIT std::uint32_t dsim_jit_neighbour(void* c, std::uint64_t k) {
  const auto n = jctx(c).neighbours();
  return k < n.size() ? n[k] : dsim::kNoEntity;
}
DSIM_JIT double dsim_jit_neighbour_weight(void* c, std::uint64_t k) {
  const auto n = jctx(c).neighbour_weights();
  return k < n.size() ? n[k] : 0.0;
}
DSIM_JIT void dsim_jit_send(void* c, std::uint32_t target, std::uint32_t type, const void* bytes,
                            std::uint64_t size, double delay) {
  guarded([&] { jctx(c).send_payload(target, type, bytes, size, delay); });
}
DSIM_JIT void dsim_jit_add(void* c, std::uint32_t counter, double amount) {
  guarded([&] { jctx(c).add(dsim::Counter{counter}, amount); });
}
DSIM_JIT double dsim_jit_value(void* c, std::uint32_t counter) {
  return jctx(c).value(dsim::Counter{counter});
}
DSIM_JIT void dsim_jit_record_tally(void* c, std::uint32_t tally, double value) {
  guarded([&] { jctx(c).record(dsim::Tally{tally}, value); });
}
DSIM_JIT void dsim_jit_record_histogram(void* c, std::uint32_t histogram, double value) {
  guarded([&] { jctx(c).record(dsim::Histogram{histogram}, value); });
}
DSIM_JIT void dsim_jit_set_gauge(void* c, std::uint32_t gauge, double level) {
  guarded([&] { jctx(c).set(dsim::Gauge{gauge}, level); });
}
DSIM_JIT double dsim_jit_level(void* c, std::uint32_t gauge) {
  return jctx(c).level(dsim::Gauge{gauge});
}
DSIM_JIT void dsim_jit_fail(void* c, std::int64_t code) {
  guarded([&] { jctx(c).fail("failed with code " + std::to_string(code)); });
}
DSIM_JIT void dsim_jit_fail_text(void* c, const char* text, std::uint64_t size) {
  guarded([&] { jctx(c).fail(std::string(text, size)); });
}
DSIM_JIT double dsim_jit_uniform(void* c) { return jctx(c).rng().uniform(); }
DSIM_JIT double dsim_jit_uniform_range(void* c, double lo, double hi) {
  return jctx(c).rng().uniform(lo, hi);
}
DSIM_JIT double dsim_jit_uniform_pos(void* c) { return jctx(c).rng().uniform_pos(); }
DSIM_JIT double dsim_jit_exponential(void* c, double mean) {
  return jctx(c).rng().exponential(mean);
}
DSIM_JIT double dsim_jit_normal(void* c, double mean, double sd) {
  return jctx(c).rng().normal(mean, sd);
}
DSIM_JIT double dsim_jit_lognormal(void* c, double mu, double sigma) {
  return jctx(c).rng().lognormal(mu, sigma);
}
DSIM_JIT std::uint8_t dsim_jit_bernoulli(void* c, double p) {
  return jctx(c).rng().bernoulli(p) ? 1 : 0;
}
DSIM_JIT std::uint64_t dsim_jit_below(void* c, std::uint64_t n) {
  return n == 0 ? 0 : jctx(c).rng().below(n);
}
DSIM_JIT std::int64_t dsim_jit_integer(void* c, std::int64_t lo, std::int64_t hi) {
  return jctx(c).rng().integer(lo, hi);
}
DSIM_JIT std::uint64_t dsim_jit_poisson(void* c, double mean) {
  return jctx(c).rng().poisson(mean);
}
DSIM_JIT std::uint64_t dsim_jit_bits(void* c) { return jctx(c).rng().bits(); }
// A distribution parameter, as the bytes of a dsim::Distribution (the
// group's constants keep them: PyDistribution's _bytes).
DSIM_JIT double dsim_jit_sample(void* c, const void* distribution) {
  dsim::Distribution d;
  std::memcpy(&d, distribution, sizeof d);
  return d.sample(jctx(c).rng());
}
DSIM_JIT double dsim_jit_distribution_mean(const void* distribution) {
  dsim::Distribution d;
  std::memcpy(&d, distribution, sizeof d);
  return d.mean();
}

// The dsim program's way in (src/cli/python_plugins.cpp): after it loaded
// libpython (RTLD_GLOBAL) and this module, it calls this to load a ".py"
// plugin into `registry`. Starts the interpreter the first time (and keeps
// it: it is never finalised), with this module's package on sys.path.
extern "C" __attribute__((visibility("default"))) void dsim_python_load_script(
    dsim::Registry& registry, const std::string& path) {
  static std::once_flag started;
  static std::string start_error;
  std::call_once(started, [] {
    if (Py_IsInitialized()) return;
    Py_InitializeEx(0);  // no signal handlers: the program has its own
    try {
      Dl_info info{};
      dladdr(reinterpret_cast<void*>(&dsim_python_load_script), &info);
      const std::filesystem::path package =
          std::filesystem::path(info.dli_fname).parent_path().parent_path();
      py::module_::import("sys").attr("path").attr("insert")(0, package.string());
      py::module_::import("pydsim");
    } catch (py::error_already_set& e) {
      start_error = e.what();
    }
    PyEval_SaveThread();  // engine threads take the GIL for each call
  });
  if (!start_error.empty())
    throw dsim::Error("plugin '" + path + "': cannot start Python with pydsim: " + start_error);
  py::gil_scoped_acquire gil;
  pydsim::enable_python_types(registry);
  pydsim::load_python_script(registry, path);
}
