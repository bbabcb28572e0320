package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// BuildSpec asks for one build of a Repository. A build is a record of one run, so its spec
// cannot change once made; a new run is a new Build.
// +kubebuilder:validation:XValidation:rule="has(self.ref) != has(self.commit)",message="give exactly one of ref (a branch or tag) or commit (a full hash)"
// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="a Build's spec cannot change; create a new Build instead"
type BuildSpec struct {
	// Repository names the Repository in the same namespace.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	Repository string `json:"repository"`

	// Ref is a branch or tag such as "main" or "v1.2"; its head is built.
	// +optional
	// +kubebuilder:validation:MaxLength=200
	// +kubebuilder:validation:Pattern=`^[A-Za-z0-9][A-Za-z0-9._/-]{0,199}$`
	// +kubebuilder:validation:XValidation:rule="!self.contains('..')",message="ref may not contain '..'"
	Ref string `json:"ref,omitempty"`

	// Commit is a full commit hash (SHA-1 or SHA-256).
	// +optional
	// +kubebuilder:validation:Pattern=`^[0-9a-f]{40}$|^[0-9a-f]{64}$`
	Commit string `json:"commit,omitempty"`

	// Force rebuilds even when a result for the same content exists.
	// +optional
	Force bool `json:"force,omitempty"`
}

// BuildPhase is where a build is in its life.
// +kubebuilder:validation:Enum=Queued;Running;Succeeded;Failed;Cancelled
type BuildPhase string

// The phases of a build and of its jobs.
const (
	BuildQueued    BuildPhase = "Queued"
	BuildRunning   BuildPhase = "Running"
	BuildSucceeded BuildPhase = "Succeeded"
	BuildFailed    BuildPhase = "Failed"
	BuildCancelled BuildPhase = "Cancelled"
)

// BuildStatus is what the controller reports about a build.
type BuildStatus struct {
	// +optional
	Phase BuildPhase `json:"phase,omitempty"`

	// Jobs are the build's jobs, one per series and arch.
	// +optional
	// +kubebuilder:validation:MaxItems=1024
	Jobs []JobStatus `json:"jobs,omitempty"`

	// +optional
	StartTime *metav1.Time `json:"startTime,omitempty"`
	// +optional
	CompletionTime *metav1.Time `json:"completionTime,omitempty"`

	// +optional
	// +listType=map
	// +listMapKey=type
	// +kubebuilder:validation:MaxItems=8
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// JobStatus is one job of a build: one series and arch.
type JobStatus struct {
	// +kubebuilder:validation:Pattern=`^[0-9]{2}\.[0-9]{2}$|^snapshot$`
	Series string `json:"series"`
	// +kubebuilder:validation:Pattern=`^[a-z0-9][a-z0-9_-]{0,63}$`
	Arch  string     `json:"arch"`
	State BuildPhase `json:"state"`
	// Packages are the results per package, once the job has run.
	// +optional
	// +kubebuilder:validation:MaxItems=512
	Packages []PackageResult `json:"packages,omitempty"`
	// LogURL is where the job's log can be read.
	// +optional
	// +kubebuilder:validation:MaxLength=2048
	LogURL string `json:"logURL,omitempty"`
}

// PackageResult is the outcome of one package in a job, as the builder reports it.
type PackageResult struct {
	// +kubebuilder:validation:Pattern=`^[a-z0-9][a-z0-9+._-]{0,99}$`
	Name string `json:"name"`
	// +optional
	// +kubebuilder:validation:MaxLength=128
	Version string `json:"version,omitempty"`
	// +kubebuilder:validation:Enum=built;failed;skipped
	Status string `json:"status"`
	// Reason says why it failed or was skipped, for people.
	// +optional
	// +kubebuilder:validation:MaxLength=1024
	Reason string `json:"reason,omitempty"`
}

// Build is one run of a Repository's matrix at a ref or commit.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Namespaced,categories=openwrt-ppa
// +kubebuilder:printcolumn:name="Repository",type=string,JSONPath=`.spec.repository`
// +kubebuilder:printcolumn:name="Ref",type=string,JSONPath=`.spec.ref`
// +kubebuilder:printcolumn:name="Commit",type=string,JSONPath=`.spec.commit`,priority=1
// +kubebuilder:printcolumn:name="Phase",type=string,JSONPath=`.status.phase`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type Build struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec BuildSpec `json:"spec"`
	// +optional
	Status BuildStatus `json:"status,omitempty"`
}

// BuildList is a list of Builds.
// +kubebuilder:object:root=true
type BuildList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Build `json:"items"`
}
