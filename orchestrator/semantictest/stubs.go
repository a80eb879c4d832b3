package semantictest

var (
	deferredTests     []test
	versionTests      []test
	compensationTests []test
	cancelTests       []test
	stateTests        []test
	resubmitTests     []test
)
