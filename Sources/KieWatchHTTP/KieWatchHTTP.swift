// The KieWatchHTTP module; its pieces land with their issues.
