ALTER TABLE `attachments` ADD `attached_at` integer;--> statement-breakpoint
CREATE INDEX `attachments_uploader_pending` ON `attachments` (`uploader_id`,`attached_at`);--> statement-breakpoint
CREATE INDEX `attachments_pending_age` ON `attachments` (`attached_at`,`created_at`);--> statement-breakpoint
CREATE INDEX `throttles_window` ON `throttles` (`window_start`);