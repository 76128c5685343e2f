package coalesce

// AfterFunc is the function lock timers are started with, for tests.
var AfterFunc = &afterFunc
