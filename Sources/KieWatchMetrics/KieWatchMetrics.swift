// The KieWatchMetrics module; its pieces land with their issues.
