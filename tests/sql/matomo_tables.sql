-- Matomo's tables that `oidcsetup apply matomo --db` reads and writes, as Matomo 5.x and the
-- LoginOIDC plugin 5.x create them. Written from matomo-org/matomo core/Db/Schema/Mysql.php
-- (getTablesCreateSql, "user" and "plugin_setting"; table options "ENGINE=InnoDB DEFAULT
-- CHARSET=utf8mb4" as getTableCreateOptions gives on a utf8mb4 server) and
-- dominik-th/matomo-plugin-LoginOIDC LoginOIDC.php::install (tag 5.0.0, via DbHelper::createTable).
-- `{prefix}` is Matomo's [database] tables_prefix. Blocks are split on the "-- @table" lines.

-- @table user
CREATE TABLE `{prefix}user` (
  login VARCHAR(100) NOT NULL,
  password VARCHAR(255) NOT NULL,
  email VARCHAR(100) NOT NULL,
  twofactor_secret VARCHAR(40) NOT NULL DEFAULT '',
  superuser_access TINYINT(2) UNSIGNED NOT NULL DEFAULT '0',
  date_registered TIMESTAMP NULL,
  ts_password_modified TIMESTAMP NULL,
  idchange_last_viewed INTEGER UNSIGNED NULL,
  invited_by VARCHAR(100) NULL,
  invite_token VARCHAR(191) NULL,
  invite_link_token VARCHAR(191) NULL,
  invite_expired_at TIMESTAMP NULL,
  invite_accept_at TIMESTAMP NULL,
  ts_changes_shown TIMESTAMP NULL,
  PRIMARY KEY (login),
  UNIQUE INDEX `uniq_email` (`email`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- @table plugin_setting
CREATE TABLE `{prefix}plugin_setting` (
  `plugin_name` VARCHAR(60) NOT NULL,
  `setting_name` VARCHAR(255) NOT NULL,
  `setting_value` LONGTEXT NOT NULL,
  `json_encoded` TINYINT UNSIGNED NOT NULL DEFAULT 0,
  `user_login` VARCHAR(100) NOT NULL DEFAULT '',
  `idplugin_setting` BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  PRIMARY KEY (idplugin_setting),
  INDEX (plugin_name, user_login)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- Before Matomo 3.5.0-b4 there was no json_encoded column, before 3.6.0-b2 no idplugin_setting
-- (core/Updates/3.5.0-b4.php, 3.6.0-b2.php): the table as a Matomo 3.4 install has it.
-- @table plugin_setting_pre35
CREATE TABLE `{prefix}plugin_setting` (
  `plugin_name` VARCHAR(60) NOT NULL,
  `setting_name` VARCHAR(255) NOT NULL,
  `setting_value` LONGTEXT NOT NULL,
  `user_login` VARCHAR(100) NOT NULL DEFAULT '',
  INDEX (plugin_name, user_login)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- @table loginoidc_provider
CREATE TABLE IF NOT EXISTS `{prefix}loginoidc_provider` (
  `user` VARCHAR(100) NOT NULL,
  `provider_user` VARCHAR(255) NOT NULL,
  `provider` VARCHAR(255) NOT NULL,
  `date_connected` TIMESTAMP NOT NULL DEFAULT current_timestamp() ON UPDATE current_timestamp(),
  PRIMARY KEY (`provider_user`, `provider`),
  UNIQUE KEY `user_provider` (`user`, `provider`),
  FOREIGN KEY (`user`) REFERENCES `{prefix}user` (`login`) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
