// Package printers owns the server-side Table columns of every kind petset
// serves: what `kubectl get` (which asks for as=Table) prints, column for
// column and cell for cell the way Kubernetes' own API server prints it.
//
// Each kind's table is an exported Printer (Pod, StatefulSet, ...); the kind's
// declaration in package registry names it, and Printer.Convertor turns it
// into the rest.TableConvertor of the kind's store. A convertor turns one
// object or a List into a metav1.Table: column definitions (all of them, including the priority-1
// ones that only `-o wide` shows, unless TableOptions.NoHeaders is set), one
// row per object carrying that object in Row.Object, and the list metadata
// (resourceVersion, continue, remainingItemCount).
//
// It does not own what happens to Row.Object afterwards (the apiserver turns
// it into PartialObjectMetadata, the full object or nothing, per
// includeObject), the printing itself (kubectl does that), nor any defaulting,
// validation or storage of the objects it reads.
//
// Concurrency: convertors hold no mutable state; ConvertToTable only reads the
// object it is given and is safe to call from any number of goroutines.
package printers
