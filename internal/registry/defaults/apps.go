package defaults

import (
	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// StatefulSet applies the apps/v1 StatefulSet defaults (podManagementPolicy
// OrderedReady; updateStrategy RollingUpdate with an empty rollingUpdate when
// the type is empty; partition 0 and maxUnavailable 1 when rollingUpdate is
// set; a Retain/Retain claim retention policy; replicas 1;
// revisionHistoryLimit 10), then the core defaults of the pod template and of
// every volume claim template, whose apiVersion and kind are always v1 and
// PersistentVolumeClaim.
func StatefulSet(ss *appsv1.StatefulSet) {
	spec := &ss.Spec
	if spec.PodManagementPolicy == "" {
		spec.PodManagementPolicy = appsv1.OrderedReadyPodManagement
	}
	if spec.UpdateStrategy.Type == "" {
		spec.UpdateStrategy.Type = appsv1.RollingUpdateStatefulSetStrategyType
		if spec.UpdateStrategy.RollingUpdate == nil {
			spec.UpdateStrategy.RollingUpdate = &appsv1.RollingUpdateStatefulSetStrategy{}
		}
	}
	if spec.UpdateStrategy.Type == appsv1.RollingUpdateStatefulSetStrategyType && spec.UpdateStrategy.RollingUpdate != nil {
		ru := spec.UpdateStrategy.RollingUpdate
		if ru.Partition == nil {
			ru.Partition = ptrTo(int32(0))
		}
		if ru.MaxUnavailable == nil {
			ru.MaxUnavailable = ptrTo(intstr.FromInt32(1))
		}
	}
	if spec.PersistentVolumeClaimRetentionPolicy == nil {
		spec.PersistentVolumeClaimRetentionPolicy = &appsv1.StatefulSetPersistentVolumeClaimRetentionPolicy{}
	}
	if spec.PersistentVolumeClaimRetentionPolicy.WhenDeleted == "" {
		spec.PersistentVolumeClaimRetentionPolicy.WhenDeleted = appsv1.RetainPersistentVolumeClaimRetentionPolicyType
	}
	if spec.PersistentVolumeClaimRetentionPolicy.WhenScaled == "" {
		spec.PersistentVolumeClaimRetentionPolicy.WhenScaled = appsv1.RetainPersistentVolumeClaimRetentionPolicyType
	}
	if spec.Replicas == nil {
		spec.Replicas = ptrTo(int32(1))
	}
	if spec.RevisionHistoryLimit == nil {
		spec.RevisionHistoryLimit = ptrTo(int32(10))
	}
	PodTemplateSpec(&spec.Template)
	for i := range spec.VolumeClaimTemplates {
		vct := &spec.VolumeClaimTemplates[i]
		PersistentVolumeClaim(vct)
		// Whatever a client sent (nothing, or a chart's own apiVersion and
		// kind), every claim template reads apiVersion v1 and kind
		// PersistentVolumeClaim, as kube's apps/v1 conversion writes them
		// (issue.k8s.io/87583). Storage (protobuf) keeps no nested TypeMeta,
		// so this runs on every decode, from clients and from storage alike,
		// and an unchanged manifest compares equal to the stored set.
		vct.APIVersion, vct.Kind = "v1", "PersistentVolumeClaim"
	}
}

// Deployment applies the apps/v1 Deployment defaults (replicas 1; strategy
// RollingUpdate, whose maxUnavailable and maxSurge default to 25% each;
// revisionHistoryLimit 10; progressDeadlineSeconds 600), then the core
// defaults of the pod template.
func Deployment(d *appsv1.Deployment) {
	spec := &d.Spec
	if spec.Replicas == nil {
		spec.Replicas = ptrTo(int32(1))
	}
	if spec.Strategy.Type == "" {
		spec.Strategy.Type = appsv1.RollingUpdateDeploymentStrategyType
	}
	if spec.Strategy.Type == appsv1.RollingUpdateDeploymentStrategyType {
		if spec.Strategy.RollingUpdate == nil {
			spec.Strategy.RollingUpdate = &appsv1.RollingUpdateDeployment{}
		}
		ru := spec.Strategy.RollingUpdate
		if ru.MaxUnavailable == nil {
			ru.MaxUnavailable = ptrTo(intstr.FromString("25%"))
		}
		if ru.MaxSurge == nil {
			ru.MaxSurge = ptrTo(intstr.FromString("25%"))
		}
	}
	if spec.RevisionHistoryLimit == nil {
		spec.RevisionHistoryLimit = ptrTo(int32(10))
	}
	if spec.ProgressDeadlineSeconds == nil {
		spec.ProgressDeadlineSeconds = ptrTo(int32(600))
	}
	PodTemplateSpec(&spec.Template)
}

// ReplicaSet applies the apps/v1 ReplicaSet defaults (replicas 1), then the
// core defaults of the pod template.
func ReplicaSet(rs *appsv1.ReplicaSet) {
	if rs.Spec.Replicas == nil {
		rs.Spec.Replicas = ptrTo(int32(1))
	}
	PodTemplateSpec(&rs.Spec.Template)
}
