package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// RepositorySpec says what to build: one source, and the matrix with the meaning of the fields
// of .openwrt-ppa.yml (docs/repository-config.md). The repository's own .openwrt-ppa.yml still
// wins where it has one; a field left out here takes that file's default.
type RepositorySpec struct {
	// Source cannot change once the Repository is created: its feeds, keys and builds belong to
	// that source, and a new one is a new Repository.
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="spec.source cannot change: delete this Repository and create a new one with the new source (its feeds stay until an admin removes them)"
	Source RepositorySource `json:"source"`

	// Branches are path.Match globs of branches whose pushes build; empty means the default
	// branch.
	// +optional
	// +kubebuilder:validation:MaxItems=32
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=200
	// +listType=set
	Branches []string `json:"branches,omitempty"`

	// Series are release series such as "24.10" or "snapshot"; empty means .openwrt-ppa.yml's
	// default ("24.10").
	// +optional
	// +kubebuilder:validation:MaxItems=16
	// +kubebuilder:validation:items:Pattern=`^[0-9]{2}\.[0-9]{2}$|^snapshot$`
	// +listType=set
	Series []string `json:"series,omitempty"`

	// Archs are package architectures such as "x86_64" or "mipsel_24kc"; empty means
	// .openwrt-ppa.yml's default set.
	// +optional
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:validation:items:Pattern=`^[a-z0-9][a-z0-9_-]{0,63}$`
	// +listType=set
	Archs []string `json:"archs,omitempty"`

	// Packages limits the build to these package names; empty means every package found.
	// +optional
	// +kubebuilder:validation:MaxItems=256
	// +kubebuilder:validation:items:Pattern=`^[a-z0-9][a-z0-9+._-]{0,99}$`
	// +listType=set
	Packages []string `json:"packages,omitempty"`
}

// RepositorySource is where the packages come from: a git URL, or a repository of a forge the
// App already serves. Exactly one.
// +kubebuilder:validation:XValidation:rule="has(self.git) != has(self.forge)",message="give exactly one source: git (a clone URL) or forge with fullName"
// +kubebuilder:validation:XValidation:rule="has(self.forge) == has(self.fullName)",message="forge and fullName go together: forge names the forge (github or gitlab), fullName the repository on it (owner/name)"
type RepositorySource struct {
	// Git is a clone URL such as https://git.example.org/me/feed.git.
	// +optional
	// +kubebuilder:validation:MaxLength=2048
	// +kubebuilder:validation:Pattern=`^(https|http|ssh|git)://[^\s]+$`
	Git string `json:"git,omitempty"`

	// Forge is the forge of a repository the App serves.
	// +optional
	// +kubebuilder:validation:Enum=github;gitlab
	Forge string `json:"forge,omitempty"`

	// FullName is the repository on the forge: "owner/name", or "group/subgroup/name" on GitLab.
	// +optional
	// +kubebuilder:validation:MaxLength=255
	// +kubebuilder:validation:Pattern=`^[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)+$`
	FullName string `json:"fullName,omitempty"`
}

// RepositoryStatus is what the controller reports about a repository.
type RepositoryStatus struct {
	// Conditions are Ready, Building and Failed, with reason and message.
	// +optional
	// +listType=map
	// +listMapKey=type
	// +kubebuilder:validation:MaxItems=8
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// ObservedGeneration is the spec generation the status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// Feeds are the published feeds, one per ref, series and arch.
	// +optional
	// +kubebuilder:validation:MaxItems=1024
	Feeds []FeedStatus `json:"feeds,omitempty"`

	// KeyFingerprints are the fingerprints of the keys that sign the feeds.
	// +optional
	// +kubebuilder:validation:MaxItems=16
	// +kubebuilder:validation:items:MaxLength=128
	KeyFingerprints []string `json:"keyFingerprints,omitempty"`

	// LastBuild names the repository's most recent Build in the same namespace.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	LastBuild string `json:"lastBuild,omitempty"`
}

// FeedStatus is one published feed.
type FeedStatus struct {
	// +kubebuilder:validation:MaxLength=255
	Ref string `json:"ref"`
	// +kubebuilder:validation:Pattern=`^[0-9]{2}\.[0-9]{2}$|^snapshot$`
	Series string `json:"series"`
	// +kubebuilder:validation:Pattern=`^[a-z0-9][a-z0-9_-]{0,63}$`
	Arch string `json:"arch"`
	// URL is where opkg or apk finds the feed.
	// +kubebuilder:validation:MaxLength=2048
	URL string `json:"url"`
}

// Repository is a source of OpenWrt packages the service builds into signed feeds.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Namespaced,shortName=ppa;ppas,categories=openwrt-ppa
// +kubebuilder:printcolumn:name="Source",type=string,JSONPath=`.spec.source.git`
// +kubebuilder:printcolumn:name="Forge",type=string,JSONPath=`.spec.source.forge`
// +kubebuilder:printcolumn:name="Full Name",type=string,JSONPath=`.spec.source.fullName`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type Repository struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec RepositorySpec `json:"spec"`
	// +optional
	Status RepositoryStatus `json:"status,omitempty"`
}

// RepositoryList is a list of Repositories.
// +kubebuilder:object:root=true
type RepositoryList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Repository `json:"items"`
}
