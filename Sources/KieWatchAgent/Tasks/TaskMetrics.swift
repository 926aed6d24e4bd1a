import KieWatchCore
import KieWatchStore

/// Metric updates for task lifecycle events, shared by every path that finishes a task.
enum TaskMetrics {
    static func finished(_ task: TaskRecord, context: AgentContext) {
        let m = context.metrics
        m.tasksFinished.labels(task.model, task.state.rawValue).increment()
        if let millis = TaskLifecycle.durationMillis(task) {
            m.taskDuration.labels(task.model).observe(Double(millis) / 1000, exemplar: ["task_id": task.taskID])
            context.deadlines.observe(model: task.model, durationMillis: millis)
        }
        if let credits = task.creditsConsumed, credits > 0 {
            m.creditsConsumed.labels(task.model).increment(by: credits)
        }
    }
}
