package parity

import (
	"fmt"
	"math/rand"
	"reflect"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/api/apitesting/fuzzer"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/kubernetes/pkg/api/legacyscheme"
	apitesting "k8s.io/kubernetes/pkg/api/testing"
	"sigs.k8s.io/randfill"
)

// mutator changes a few fields of a valid object so that the result is
// near-valid: a string becomes another plausible string (one of the seeds'
// values or a classic invalid one), a number a boundary value, a pointer nil
// or freshly filled by upstream's fuzzer (k8s.io/kubernetes/pkg/api/testing
// with sigs.k8s.io/randfill), a list loses, duplicates or gains an element.
type mutator struct {
	r    *rand.Rand
	fill *randfill.Filler
	pool []string
}

// tricky are strings that break one rule or another: names, paths, IPs,
// quantities, label keys.
var tricky = []string{
	"", "a", "Invalid_Name", "-a", "a-", "a..b", "UPPER", "has space", "a/b", "example.com/key", "example.com/",
	"10.0.0.1", "10.0.0.0/8", "::1", "fd00::1", "300.1.1.1", "0.0.0.0", "/abs/path", "../up", "rel/path", "*",
	"1Gi", "-1", "0", "65536", "0.5", "http", "TCP", "UDP", "None", "Always", "Never", "true",
	strings.Repeat("x", 64), strings.Repeat("a", 254), strings.Repeat("b", 63),
}

var ints = []int64{0, 1, -1, 2, 3, 5, 10, 80, 1024, 65535, 65536, 86400, 1 << 31, -(1 << 40)}

func newMutator(seed int64, pool []string) *mutator {
	r := rand.New(rand.NewSource(seed))
	f := fuzzer.FuzzerFor(apitesting.FuzzerFuncs, rand.NewSource(r.Int63()), legacyscheme.Codecs).
		NilChance(0.5).NumElements(0, 2).MaxDepth(6)
	return &mutator{r: r, fill: f, pool: pool}
}

// slot is one field (or list element) of an object that a mutation may change.
type slot struct {
	v    reflect.Value
	path string
}

// leafStruct reports types mutated whole: those with unexported fields
// (Quantity, Time, IntOrString...) and RawExtension.
func leafStruct(t reflect.Type) bool {
	for i := 0; i < t.NumField(); i++ {
		if !t.Field(i).IsExported() {
			return true
		}
	}
	return t == reflect.TypeOf(runtime.RawExtension{}) || t == reflect.TypeOf(intstr.IntOrString{})
}

func jsonName(f reflect.StructField) (name string, inline bool) {
	tag := f.Tag.Get("json")
	name, _, _ = strings.Cut(tag, ",")
	if strings.Contains(tag, ",inline") || (f.Anonymous && name == "") {
		return "", true
	}
	if name == "" {
		name = f.Name
	}
	return name, false
}

// slots lists every field of v under path, skipping TypeMeta and the paths
// skip reports.
func slots(v reflect.Value, path string, skip func(path string) bool, out *[]slot) {
	if path != "" && skip(path) {
		return
	}
	switch v.Kind() {
	case reflect.Ptr:
		*out = append(*out, slot{v, path})
		if !v.IsNil() {
			slots(v.Elem(), path, skip, out)
		}
	case reflect.Struct:
		t := v.Type()
		if leafStruct(t) {
			*out = append(*out, slot{v, path})
			return
		}
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			if !f.IsExported() || f.Name == "TypeMeta" {
				continue
			}
			name, inline := jsonName(f)
			p := path
			if !inline {
				p = strings.TrimPrefix(path+"."+name, ".")
			}
			slots(v.Field(i), p, skip, out)
		}
	case reflect.Slice:
		*out = append(*out, slot{v, path})
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return
		}
		for i := 0; i < v.Len(); i++ {
			slots(v.Index(i), fmt.Sprintf("%s[%d]", path, i), skip, out)
		}
	default:
		*out = append(*out, slot{v, path})
	}
}

// mutate changes n random fields of obj (outside the paths skip reports)
// and describes what it did.
func (m *mutator) mutate(obj runtime.Object, n int, skip func(path string) bool) []string {
	var did []string
	for range n {
		var all []slot
		slots(reflect.ValueOf(obj).Elem(), "", skip, &all)
		if len(all) == 0 {
			return did
		}
		s := all[m.r.Intn(len(all))]
		did = append(did, s.path+": "+m.change(s.v))
	}
	return did
}

func (m *mutator) pick() string { return m.pool[m.r.Intn(len(m.pool))] }

// change mutates one value and says how.
func (m *mutator) change(v reflect.Value) string {
	switch v.Kind() {
	case reflect.String:
		s := m.pick()
		v.SetString(s)
		return fmt.Sprintf("%q", s)
	case reflect.Bool:
		v.SetBool(!v.Bool())
		return fmt.Sprint(v.Bool())
	case reflect.Int, reflect.Int32, reflect.Int64, reflect.Int16, reflect.Int8:
		i := ints[m.r.Intn(len(ints))]
		v.SetInt(i)
		return fmt.Sprint(v.Int())
	case reflect.Uint, reflect.Uint32, reflect.Uint64, reflect.Uint16, reflect.Uint8:
		v.SetUint(uint64(m.r.Intn(3)))
		return fmt.Sprint(v.Uint())
	case reflect.Float32, reflect.Float64:
		v.SetFloat(float64(m.r.Intn(3)) - 1)
		return fmt.Sprint(v.Float())
	case reflect.Ptr:
		if !v.IsNil() && m.r.Intn(2) == 0 {
			v.Set(reflect.Zero(v.Type()))
			return "nil"
		}
		n := reflect.New(v.Type().Elem())
		m.fillValue(n)
		v.Set(n)
		return "filled"
	case reflect.Slice:
		k := m.r.Intn(4)
		if v.Len() == 0 {
			k = 0
		}
		switch k {
		case 0:
			e := reflect.New(v.Type().Elem())
			m.fillValue(e)
			v.Set(reflect.Append(v, e.Elem()))
			return "appended"
		case 1:
			i := m.r.Intn(v.Len())
			v.Set(reflect.AppendSlice(v.Slice(0, i), v.Slice(i+1, v.Len())))
			return fmt.Sprintf("removed [%d]", i)
		case 2:
			i := m.r.Intn(v.Len())
			v.Set(reflect.Append(v, v.Index(i)))
			return fmt.Sprintf("duplicated [%d]", i)
		default:
			v.Set(reflect.Zero(v.Type()))
			return "emptied"
		}
	case reflect.Map:
		switch m.r.Intn(3) {
		case 0:
			v.Set(reflect.Zero(v.Type()))
			return "nil"
		case 1:
			if v.IsNil() {
				v.Set(reflect.MakeMap(v.Type()))
			}
			k := reflect.New(v.Type().Key()).Elem()
			m.fillValue(k.Addr())
			e := reflect.New(v.Type().Elem())
			m.fillValue(e)
			v.SetMapIndex(k, e.Elem())
			return fmt.Sprintf("added key %v", k.Interface())
		default:
			n := reflect.New(v.Type())
			m.fillValue(n)
			v.Set(n.Elem())
			return "refilled"
		}
	case reflect.Struct:
		if v.Type() == reflect.TypeOf(intstr.IntOrString{}) {
			n := intstr.FromInt32(int32(ints[m.r.Intn(len(ints))]))
			if m.r.Intn(2) == 0 {
				n = intstr.FromString(m.pick())
			}
			v.Set(reflect.ValueOf(n))
			return n.String()
		}
		fallthrough
	default: // other structs mutated whole
		n := reflect.New(v.Type())
		if m.r.Intn(3) > 0 {
			m.fillValue(n)
		}
		v.Set(n.Elem())
		return "refilled"
	}
}

// fillValue fills *p with upstream's fuzzer, then brings most of what it
// made back to plausible values (random unicode says little).
func (m *mutator) fillValue(p reflect.Value) {
	m.fill.Fill(p.Interface())
	m.tame(p.Elem())
}

func (m *mutator) tame(v reflect.Value) {
	switch v.Kind() {
	case reflect.Ptr:
		if !v.IsNil() {
			m.tame(v.Elem())
		}
	case reflect.Struct:
		if leafStruct(v.Type()) {
			return
		}
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() {
				m.tame(v.Field(i))
			}
		}
	case reflect.Slice:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return
		}
		for i := 0; i < v.Len(); i++ {
			m.tame(v.Index(i))
		}
	case reflect.Map:
		if v.Type().Key().Kind() != reflect.String {
			return
		}
		keys := v.MapKeys()
		sort.Slice(keys, func(i, j int) bool { return keys[i].String() < keys[j].String() })
		n := reflect.MakeMap(v.Type())
		for _, k := range keys {
			e := reflect.New(v.Type().Elem()).Elem()
			e.Set(v.MapIndex(k))
			m.tame(e)
			nk := reflect.New(v.Type().Key()).Elem()
			nk.SetString(k.String())
			if m.r.Intn(5) > 0 {
				nk.SetString(m.pick())
			}
			n.SetMapIndex(nk, e)
		}
		v.Set(n)
	case reflect.String:
		if m.r.Intn(5) > 0 {
			v.SetString(m.pick())
		}
	case reflect.Int, reflect.Int32, reflect.Int64:
		if m.r.Intn(5) > 0 {
			v.SetInt(ints[m.r.Intn(len(ints))])
		}
	}
}

// stringsOf collects every string value in the seeds: the enum values and
// names a near-valid mutation draws from.
func stringsOf(v reflect.Value, into map[string]bool) {
	switch v.Kind() {
	case reflect.Ptr, reflect.Interface:
		if !v.IsNil() {
			stringsOf(v.Elem(), into)
		}
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() {
				stringsOf(v.Field(i), into)
			}
		}
	case reflect.Slice:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return
		}
		for i := 0; i < v.Len(); i++ {
			stringsOf(v.Index(i), into)
		}
	case reflect.Map:
		for _, k := range v.MapKeys() {
			stringsOf(k, into)
			stringsOf(v.MapIndex(k), into)
		}
	case reflect.String:
		into[v.String()] = true
	}
}
