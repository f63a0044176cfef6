package parity

import (
	"fmt"
	"hash/fnv"
	"reflect"
	"sort"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/kubernetes/pkg/api/legacyscheme"
)

// Config says which cases a run makes.
type Config struct {
	// Seed makes the run replayable: the same seed makes the same objects.
	Seed int64
	// Cases is the number of cases per kind.
	Cases int
	// Kind, when set, limits the run to one kind (its seed name).
	Kind string
	// Case, when not negative, runs only that case (replay).
	Case int
}

// Example is the first case that showed a Difference.
type Example struct {
	Seed      int64
	Kind      string
	Case      int
	Mutations []string
	Detail    string
}

// Replay is the command line that makes the case again.
func (e Example) Replay() string {
	return fmt.Sprintf("PARITY_SEED=%d PARITY_KIND=%s PARITY_CASE=%d hack/parity/run.sh", e.Seed, e.Kind, e.Case)
}

// Result is what a run found.
type Result struct {
	Cases    map[string]int
	Found    map[Difference]Example
	Count    map[Difference]int
	Seed     int64
	Checked  []string
	Unpaired []string
}

func (r *Result) add(d Difference, ex Example) {
	if _, ok := r.Found[d]; !ok {
		r.Found[d] = ex
	}
	r.Count[d]++
}

// metaSkip are the metadata fields the generic registry sets or guards for
// every kind alike (uid, resourceVersion, timestamps, managedFields): the
// cases leave them alone.
var metaSkip = []string{"metadata.uid", "metadata.resourceVersion", "metadata.selfLink", "metadata.creationTimestamp",
	"metadata.deletionTimestamp", "metadata.deletionGracePeriodSeconds", "metadata.generation", "metadata.managedFields"}

func skipping(prefixes ...string) func(string) bool {
	return func(p string) bool {
		for _, s := range prefixes {
			if p == s || strings.HasPrefix(p, s+".") || strings.HasPrefix(p, s+"[") {
				return true
			}
		}
		return false
	}
}

// onlyStatus leaves everything but status alone.
func onlyStatus(p string) bool { return p != "status" && !strings.HasPrefix(p, "status.") }

func caseSeed(seed int64, kind string, i int) int64 {
	h := fnv.New64a()
	fmt.Fprintf(h, "%d/%s/%d", seed, kind, i)
	return int64(h.Sum64() &^ (1 << 63))
}

// valuePool is every string in the seeds plus the tricky ones, in a stable order.
func valuePool() []string {
	set := map[string]bool{}
	for _, s := range tricky {
		set[s] = true
	}
	for _, mk := range seeds {
		stringsOf(reflect.ValueOf(mk()), set)
	}
	delete(set, string(csrPEM))
	pool := make([]string, 0, len(set))
	for s := range set {
		pool = append(pool, s)
	}
	sort.Strings(pool)
	return pool
}

// Run makes cfg.Cases cases per kind and compares upstream with petset.
func Run(cfg Config) *Result {
	res := &Result{Cases: map[string]int{}, Found: map[Difference]Example{}, Count: map[Difference]int{}, Seed: cfg.Seed}
	kinds, unpaired := kindCases()
	res.Unpaired = unpaired
	pool := valuePool()
	for _, k := range kinds {
		if cfg.Kind != "" && cfg.Kind != k.name {
			continue
		}
		res.Checked = append(res.Checked, k.name)
		if k.upstream.status != nil && (!k.petset.HasStatus || k.petset.ValidateStatusUpdate == nil) {
			res.add(Difference{"validation", k.name, "status", "petset has no status validation"}, Example{Seed: cfg.Seed, Kind: k.name})
		}
		for i := range cfg.Cases {
			if cfg.Case >= 0 && i != cfg.Case {
				continue
			}
			res.Cases[k.name]++
			k.runCase(cfg.Seed, i, pool, res)
		}
	}
	return res
}

// runCase makes case i of a kind: a create (defaulting, validation and
// printing), an update, or a status update, in turn.
func (k kindCase) runCase(seed int64, i int, pool []string, res *Result) {
	m := newMutator(caseSeed(seed, k.name, i), pool)
	ops := []string{"create", "update"}
	if k.upstream.status != nil && k.petset.ValidateStatusUpdate != nil {
		ops = append(ops, "status")
	}
	op := ops[i%len(ops)]
	ex := Example{Seed: seed, Kind: k.name, Case: i}
	record := func(found map[Difference]string) {
		for d, detail := range found {
			e := ex
			e.Detail = detail
			res.add(d, e)
		}
	}
	n := 1 + m.r.Intn(3)
	switch op {
	case "create":
		skip := append([]string{}, metaSkip...)
		if k.petset.HasStatus && !k.petset.KeepStatusOnCreate {
			skip = append(skip, "status")
		}
		obj := seeds[k.name]()
		ex.Mutations = m.mutate(obj, n, skipping(skip...))
		up, ps := k.upstreamDecode(obj), obj.DeepCopyObject()
		petsetScheme.Default(ps)
		record(compareDefaulting(k.name, up, ps))
		record(k.printing(up))
		ue, pe := k.validateCreate(up)
		record(compareValidation(k.name, op, ue, pe))
	case "update", "status":
		old := k.upstreamDecode(seeds[k.name]())
		mustMeta(old).SetResourceVersion("1")
		obj := old.DeepCopyObject()
		if op == "update" {
			ex.Mutations = m.mutate(obj, n, skipping(append([]string{"status"}, metaSkip...)...))
		} else {
			ex.Mutations = m.mutate(obj, n, onlyStatus)
		}
		obj = k.upstreamDecode(obj)
		ue, pe := k.validateUpdate(op, obj, old)
		record(compareValidation(k.name, op, ue, pe))
	}
}

func mustMeta(obj runtime.Object) interface{ SetResourceVersion(string) } {
	m, err := metaOf(obj)
	if err != nil {
		panic(err)
	}
	return m
}

// upstreamDecode is the v1 object as kube-apiserver makes it from a request
// body: defaulted, converted to its internal type and back (conversion does
// part of the work: a Secret's stringData is merged into data, a pod's
// deprecated serviceAccount follows serviceAccountName).
func (k kindCase) upstreamDecode(obj runtime.Object) runtime.Object {
	obj = obj.DeepCopyObject()
	legacyscheme.Scheme.Default(obj)
	out, err := legacyscheme.Scheme.ConvertToVersion(k.toInternal(obj), k.gvk.GroupVersion())
	if err != nil {
		panic(fmt.Sprintf("convert %s back to %s: %v", k.name, k.gvk.GroupVersion(), err))
	}
	return out
}

// guard turns a panic of one side into a validation error of its own, so
// that it shows up as a difference instead of ending the run.
func guard(side string, f func() field.ErrorList) (errs field.ErrorList) {
	defer func() {
		if r := recover(); r != nil {
			errs = field.ErrorList{field.InternalError(field.NewPath("<panic>"), fmt.Errorf("%s panicked: %v", side, r))}
		}
	}()
	return f()
}

// validateCreate runs a create through upstream's strategy (PrepareForCreate,
// Validate on the internal object) and petset's kind (PrepareForCreate,
// Validate), both from the same upstream-defaulted object.
func (k kindCase) validateCreate(obj runtime.Object) (up, ps field.ErrorList) {
	up = guard("upstream", func() field.ErrorList {
		in := k.toInternal(obj)
		ctx := k.requestContext(obj, "create")
		k.upstream.create.PrepareForCreate(ctx, in)
		return k.upstream.create.Validate(ctx, in)
	})
	ps = guard("petset", func() field.ErrorList {
		p := obj.DeepCopyObject()
		if k.petset.PrepareForCreate != nil {
			k.petset.PrepareForCreate(k.requestContext(p, "create"), p)
		}
		if k.petset.Validate == nil {
			return nil
		}
		return k.petset.Validate(p)
	})
	return up, ps
}

// validateUpdate runs an update (op "update") or a status update (op
// "status") through both sides.
func (k kindCase) validateUpdate(op string, obj, old runtime.Object) (up, ps field.ErrorList) {
	up = guard("upstream", func() field.ErrorList {
		in, oldIn := k.toInternal(obj), k.toInternal(old)
		ctx := k.requestContext(obj, "update")
		s := k.upstream.update
		if op == "status" {
			s = k.upstream.status
		}
		s.PrepareForUpdate(ctx, in, oldIn)
		return s.ValidateUpdate(ctx, in, oldIn)
	})
	ps = guard("petset", func() field.ErrorList {
		p, o := obj.DeepCopyObject(), old.DeepCopyObject()
		ctx := k.requestContext(p, "update")
		prepare, validate := k.petset.PrepareForUpdate, k.petset.ValidateUpdate
		if op == "status" {
			prepare, validate = k.petset.PrepareForStatusUpdate, k.petset.ValidateStatusUpdate
		}
		if prepare != nil {
			prepare(ctx, p, o)
		}
		if validate == nil {
			return nil
		}
		return validate(p, o)
	})
	return up, ps
}

// printing compares the table rows of one defaulted object.
func (k kindCase) printing(obj runtime.Object) map[Difference]string {
	var ut, pt *metav1.Table
	var uerr, perr error
	func() {
		defer func() {
			if r := recover(); r != nil {
				uerr = fmt.Errorf("upstream panicked: %v", r)
			}
		}()
		ut, uerr = k.upstreamTable(k.toInternal(obj))
	}()
	func() {
		defer func() {
			if r := recover(); r != nil {
				perr = fmt.Errorf("petset panicked: %v", r)
			}
		}()
		pt, perr = k.petsetTable(obj)
	}()
	if uerr != nil || perr != nil {
		if (uerr == nil) != (perr == nil) || strings.Contains(fmt.Sprint(uerr, perr), "panicked") {
			return map[Difference]string{{"printing", k.name, "-", "error"}: fmt.Sprintf("upstream: %v; petset: %v", uerr, perr)}
		}
		return nil
	}
	return comparePrinting(k.name, ut, pt)
}
