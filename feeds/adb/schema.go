package adb

// Field numbers of apk's schemas (apk_adb.h). They are the format's contract: the file stores
// only numbered slots.
const (
	// The index root object (schema "indx").
	IndexDescription = 1
	IndexPackages    = 2
	IndexPkgnameSpec = 3

	// The package root object (schema "pckg").
	PackageInfo             = 1
	PackagePaths            = 2
	PackageScripts          = 3
	PackageTriggers         = 4
	PackageReplacesPriority = 5

	// pkginfo: an index entry, and a package's info.
	InfoName             = 1
	InfoVersion          = 2
	InfoHashes           = 3
	InfoDescription      = 4
	InfoArch             = 5
	InfoLicense          = 6
	InfoOrigin           = 7
	InfoMaintainer       = 8
	InfoURL              = 9
	InfoRepoCommit       = 10
	InfoBuildTime        = 11
	InfoInstalledSize    = 12
	InfoFileSize         = 13
	InfoProviderPriority = 14
	InfoDepends          = 15
	InfoProvides         = 16
	InfoReplaces         = 17
	InfoInstallIf        = 18
	InfoRecommends       = 19
	InfoLayer            = 20
	InfoTags             = 21
	InfoFields           = 21 // the last field number

	// A dependency (elements of depends, provides, replaces, install-if, recommends).
	DepName    = 1
	DepVersion = 2
	DepMatch   = 3

	// A directory of paths, a file of a directory, and their ACL.
	DirName  = 1
	DirACL   = 2
	DirFiles = 3

	FileName   = 1
	FileACL    = 2
	FileSize   = 3
	FileMtime  = 4
	FileHash   = 5
	FileTarget = 6

	ACLMode   = 1
	ACLUser   = 2
	ACLGroup  = 3
	ACLXattrs = 4

	// Scripts: slot numbers of the script kinds.
	ScriptTrigger       = 1
	ScriptPreInstall    = 2
	ScriptPostInstall   = 3
	ScriptPreDeinstall  = 4
	ScriptPostDeinstall = 5
	ScriptPreUpgrade    = 6
	ScriptPostUpgrade   = 7
)

// Dependency match bits (apk's APK_VERSION_* and APK_DEPMASK_*).
const (
	MatchEqual    = 1
	MatchLess     = 2
	MatchGreater  = 4
	MatchFuzzy    = 8
	MatchConflict = 16
	MatchAny      = MatchEqual | MatchLess | MatchGreater
	MatchChecksum = MatchLess | MatchGreater
)
